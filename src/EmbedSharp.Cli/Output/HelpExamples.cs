using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace EmbedSharp.Cli.Output;

/// <summary>
/// Keeps the command list of <c>embedsharp --help</c> to one line per command, and prints each
/// command's examples (and notes) after its own <c>--help</c>. A command writes them in its
/// description after a blank line; they are moved here when the tree is built.
/// </summary>
internal static class HelpExamples
{
    public static void Install(Command root)
    {
        var extra = new Dictionary<Command, string>();
        foreach (var cmd in Descendants(root))
        {
            string? d = cmd.Description;
            int cut = d?.IndexOf("\n\n", StringComparison.Ordinal) ?? -1;
            if (cut < 0)
                continue;
            extra[cmd] = d![(cut + 2)..];
            cmd.Description = d[..cut];
        }
        var help = root.Options.OfType<HelpOption>().Single();
        if (help.Action is SynchronousCommandLineAction inner)
            help.Action = new WithExamples(inner, extra);
    }

    /// <summary>Every command below <paramref name="command"/>, groups' subcommands included (e.g. <c>kg train</c>).</summary>
    private static IEnumerable<Command> Descendants(Command command) =>
        command.Subcommands.SelectMany(c => Descendants(c).Prepend(c));

    private sealed class WithExamples(SynchronousCommandLineAction inner, Dictionary<Command, string> extra) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            int code = inner.Invoke(parseResult);
            if (extra.TryGetValue(parseResult.CommandResult.Command, out string? text))
            {
                var output = parseResult.InvocationConfiguration.Output;
                output.WriteLine(text.TrimEnd());
                output.WriteLine();
            }
            return code;
        }
    }
}
