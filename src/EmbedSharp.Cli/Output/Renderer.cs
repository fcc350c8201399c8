using System.Text.Json;
using Spectre.Console;

namespace EmbedSharp.Cli.Output;

/// <summary>
/// Writes results the way the user asked: Spectre.Console tables and colour on a terminal, plain
/// text when output is redirected, or one JSON object per line with <c>--json</c>.
/// </summary>
public sealed class Renderer
{
    private readonly IConsole _console;

    public Renderer(IConsole console, bool json)
    {
        _console = console;
        Json = json;
        bool terminal = ReferenceEquals(console, SystemConsole.Instance) && !Console.IsOutputRedirected;
        Ansi = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(console.Out),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        Interactive = terminal && !json;
        if (!terminal)
            Ansi.Profile.Width = 160; // redirected output: no terminal width to respect, so don't wrap cells
    }

    /// <summary>True with <c>--json</c>: machine-readable lines only.</summary>
    public bool Json { get; }

    /// <summary>True on a real terminal without <c>--json</c>: progress bars are drawn.</summary>
    public bool Interactive { get; }

    /// <summary>The Spectre console over <see cref="IConsole.Out"/>.</summary>
    public IAnsiConsole Ansi { get; }

    /// <summary>A line of prose (suppressed with <c>--json</c>).</summary>
    public void Line(string text)
    {
        if (!Json)
            _console.Out.WriteLine(text);
    }

    /// <summary>One JSON object on its own line.</summary>
    public void JsonLine(IReadOnlyDictionary<string, object?> fields) =>
        _console.Out.WriteLine(JsonSerializer.Serialize(fields, CliJsonContext.Default.IReadOnlyDictionaryStringObject));

    /// <summary>A table: boxed on a terminal, aligned plain columns otherwise.</summary>
    public void Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        var table = new Table().Border(Interactive ? TableBorder.Rounded : TableBorder.Simple);
        foreach (string h in headers)
            table.AddColumn(new TableColumn(Markup.Escape(h)));
        foreach (var row in rows)
            table.AddRow(row.Select(c => new Text(c)).ToArray());
        Ansi.Write(table);
    }

    /// <summary>
    /// Runs <paramref name="work"/> with a progress bar on a terminal (it reports 0..1 through the
    /// callback); elsewhere it runs plainly.
    /// </summary>
    public T Progress<T>(string label, Func<Action<double>, T> work)
    {
        if (!Interactive)
            return work(_ => { });
        T result = default!;
        Ansi.Progress().AutoClear(false).Start(ctx =>
        {
            var task = ctx.AddTask(Markup.Escape(label), maxValue: 1.0);
            result = work(p => task.Value = Math.Clamp(p, 0, 1));
            task.Value = 1;
        });
        return result;
    }
}
