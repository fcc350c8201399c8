using System.CommandLine;
using System.CommandLine.Help;

namespace EmbedSharp.Cli.Output;

/// <summary>
/// The root of the command tree, named <c>embedsharp</c> whatever the process is called.
/// System.CommandLine's <c>RootCommand</c> takes its name from the executable, so help and parse
/// errors said <c>EmbedSharp.Cli</c> under <c>dotnet run</c> and <c>testhost</c> in the tests;
/// a plain command with the same help and version options names the tool the same everywhere.
/// </summary>
internal static class ToolRoot
{
    /// <summary>The tool's name, as installed by <c>dotnet tool install</c> (ToolCommandName in the project).</summary>
    public const string Name = "embedsharp";

    public static Command Create(string description) => new(Name, description)
    {
        new HelpOption(),
        new VersionOption(),
    };
}
