using EmbedSharp.Diagnostics;

namespace EmbedSharp.Cli.Output;

/// <summary>Pictures a person would rather see than read: PNG or SVG (by the file extension) through ScottPlot.</summary>
internal static class Plots
{
    /// <summary>A labelled 2-D scatter, e.g. a PCA map of word vectors.</summary>
    public static void Map(string path, string title, ReadOnlySpan<float> xy, IReadOnlyList<string> labels, IReadOnlyList<int>? groups = null)
    {
        var plot = new ScottPlot.Plot();
        plot.Title(title);
        plot.Axes.Bottom.Label.Text = "principal component 1";
        plot.Axes.Left.Label.Text = "principal component 2";
        var palette = new ScottPlot.Palettes.Category10();
        for (int i = 0; i < labels.Count; i++)
        {
            double x = xy[2 * i], y = xy[2 * i + 1];
            var color = palette.GetColor(groups is null ? 0 : groups[i]);
            var marker = plot.Add.Marker(x, y);
            marker.Color = color;
            marker.Size = 6;
            var text = plot.Add.Text(labels[i], x, y);
            text.LabelFontSize = 11;
            text.LabelFontColor = color;
            text.LabelOffsetX = 4;
            text.LabelOffsetY = -4;
        }
        Save(plot, path, 1000, 800);
    }

    /// <summary>A line chart of one or more series against their index (e.g. loss per progress report).</summary>
    public static void Curve(string path, string title, string xLabel, string yLabel, IReadOnlyList<(string Name, double[] X, double[] Y)> series)
    {
        var plot = new ScottPlot.Plot();
        plot.Title(title);
        plot.Axes.Bottom.Label.Text = xLabel;
        plot.Axes.Left.Label.Text = yLabel;
        foreach (var (name, x, y) in series)
        {
            var line = plot.Add.Scatter(x, y);
            line.LegendText = name;
            line.MarkerSize = 0;
            line.LineWidth = 2;
        }
        if (series.Count > 1)
            plot.ShowLegend();
        Save(plot, path, 900, 500);
    }

    private static void Save(ScottPlot.Plot plot, string path, int width, int height)
    {
        string ext = Path.GetExtension(path).ToLowerInvariant();
        if (ext is not (".png" or ".svg"))
            ThrowHelper.Argument("plot", nameof(path), $"cannot write '{ext}' files; use a .png or .svg path");
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        // Write next to the target, then rename: a crash never leaves half a picture behind.
        string temp = full + ".tmp" + ext;
        if (ext == ".png")
            plot.SavePng(temp, width, height);
        else
            plot.SaveSvg(temp, width, height);
        File.Move(temp, full, overwrite: true);
    }
}
