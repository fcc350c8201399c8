using EmbedSharp.Web;

// Run on its own (tests, development): tables come from configuration, e.g.
//   dotnet run --project src/EmbedSharp.Web -- --Explorer:Files:0=vectors.txt --Explorer:Root=data
// `embedsharp serve` builds the same host through ExplorerHost with options from its command line.
var app = ExplorerHost.Build(args, options: null);
app.Run();

/// <summary>The entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
