using System.CommandLine;
using EmbedSharp.Cli.Commands;
using EmbedSharp.Cli.Output;

namespace EmbedSharp.Cli;

/// <summary>Builds the command tree and runs it. Exit codes: 0 success, 1 bad usage or input, 2 internal error.</summary>
public static class EmbedSharpCli
{
    /// <summary>Exit code for success.</summary>
    public const int Ok = 0;

    /// <summary>Exit code for a usage error or bad input the user can fix.</summary>
    public const int UsageError = 1;

    /// <summary>Parses <paramref name="args"/> and runs the chosen command, writing to <paramref name="console"/>.</summary>
    public static int Run(string[] args, IConsole console)
    {
        var root = ToolRoot.Create("embedsharp: embedding tables for .NET (lookup, training, quantization, vectors).");
        root.Subcommands.Add(QuickstartCommand.Create(console));
        root.Subcommands.Add(TrainCommand.Create(console));
        root.Subcommands.Add(ConvertCommand.Create(console));
        root.Subcommands.Add(QuantizeCommand.Create(console));
        root.Subcommands.Add(InspectCommand.Create(console));
        root.Subcommands.Add(VectorCommand.Create(console));
        root.Subcommands.Add(NeighborsCommand.Create(console));
        root.Subcommands.Add(AnalogyCommand.Create(console));
        root.Subcommands.Add(SimilarityCommand.Create(console));
        root.Subcommands.Add(EvaluateCommand.Create(console));
        root.Subcommands.Add(PlotCommand.Create(console));
        root.Subcommands.Add(BenchCommand.Create(console));
        root.Subcommands.Add(KgCommand.Create(console));
        root.Subcommands.Add(RecCommand.Create(console));
        root.Subcommands.Add(TabularCommand.Create(console));
        root.Subcommands.Add(ServeCommand.Create(console));
        root.Subcommands.Add(IndexCommand.Create(console));
        root.Subcommands.Add(StoreCommand.Create(console));
        HelpExamples.Install(root);
        // Ctrl-C cancels the running command's token; training then stops at its next progress report
        // and writes what it has learned, so allow a minute for that before the process is ended.
        var config = new InvocationConfiguration
        {
            Output = console.Out,
            Error = console.Error,
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = TimeSpan.FromSeconds(60),
        };
        try
        {
            return root.Parse(args).Invoke(config);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or NotSupportedException or FormatException or InvalidDataException or UnauthorizedAccessException)
        {
            console.Error.WriteLine($"error: {OneLine(ex)}");
            return UsageError;
        }
    }

    /// <summary>The exception's message without .NET's "(Parameter 'x')" suffix and "Actual value was" line.</summary>
    internal static string OneLine(Exception ex)
    {
        string message = ex.Message;
        if (ex is ArgumentException { ParamName: string name })
            message = message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal);
        int newline = message.IndexOf('\n');
        return (newline >= 0 ? message[..newline] : message).TrimEnd('\r');
    }
}
