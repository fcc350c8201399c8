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
            marker.Size = 8;
            var text = plot.Add.Text(labels[i], x, y);
            text.LabelFontSize = 14;
            text.LabelFontColor = color;
            text.LabelOffsetX = 4;
            text.LabelOffsetY = -4;
        }
        plot.Axes.Margins(horizontal: 0.12, vertical: 0.06);   // room for the labels of the outermost points
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
            line.MarkerSize = x.Length <= 20 ? 6 : 0;   // a few measured points (a recall/QPS curve) show where they are
            line.LineWidth = 2;
        }
        if (series.Count > 1)
            plot.ShowLegend(ScottPlot.Edge.Right);   // beside the data area, never over a curve
        Save(plot, path, series.Count > 1 ? 1150 : 900, 500);
    }

    /// <summary>
    /// A training loss against epochs: the raw reports (thin), a smoothed trend (bold), each epoch's
    /// mean as a labelled step, and a dashed line at every epoch boundary.
    /// </summary>
    public static void LossByEpoch(string path, string title, string yLabel, double[] x, double[] y, double[] trendX, double[] trendY, IReadOnlyList<double> epochMeans, int epochs)
    {
        var plot = new ScottPlot.Plot();
        plot.Title(title);
        plot.Axes.Bottom.Label.Text = "epochs done";
        plot.Axes.Left.Label.Text = yLabel;
        plot.Axes.Title.Label.FontSize = 18;
        plot.Axes.Bottom.Label.FontSize = 15;
        plot.Axes.Left.Label.FontSize = 15;
        plot.Axes.Bottom.TickLabelStyle.FontSize = 13;
        plot.Axes.Left.TickLabelStyle.FontSize = 13;
        for (int e = 1; e < epochs; e++)
        {
            var boundary = plot.Add.VerticalLine(e);
            boundary.LinePattern = ScottPlot.LinePattern.Dashed;
            boundary.LineWidth = 1;
            boundary.Color = ScottPlot.Colors.Gray;
        }
        var raw = plot.Add.Scatter(x, y);
        raw.LegendText = "each progress report (rises and falls with the books in the corpus)";
        raw.MarkerSize = 0;
        raw.LineWidth = 1;
        raw.Color = ScottPlot.Colors.SteelBlue.WithAlpha(0.45);
        if (trendX.Length > 1)
        {
            var trend = plot.Add.Scatter(trendX, trendY);
            trend.LegendText = "mean over the last epoch of reports (the trend)";
            trend.MarkerSize = 0;
            trend.LineWidth = 3;
            trend.Color = ScottPlot.Colors.DarkBlue;
        }
        var palette = ScottPlot.Colors.OrangeRed;
        for (int e = 0; e < epochMeans.Count && e < epochs; e++)
        {
            var step = plot.Add.Line(e, epochMeans[e], e + 1, epochMeans[e]);
            step.LineWidth = 3;
            step.Color = palette;
            step.LegendText = e == 0 ? "mean of each epoch" : "";
            var label = plot.Add.Text($"epoch {e + 1}: {epochMeans[e]:0.000}", e + 0.5, epochMeans[e]);
            label.LabelFontSize = 13;
            label.LabelFontColor = palette;
            label.LabelBold = true;
            label.LabelAlignment = ScottPlot.Alignment.LowerCenter;
            label.LabelOffsetY = -4;
        }
        plot.Axes.SetLimitsX(0, epochs);
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        plot.Legend.FontSize = 13;
        Save(plot, path, 1100, 600);
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
