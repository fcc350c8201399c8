using EmbedSharp.Cli;
using EmbedSharp.Cli.Output;

// `embedsharp <command> [options]`; see `embedsharp --help`.
return EmbedSharpCli.Run(args, SystemConsole.Instance);
