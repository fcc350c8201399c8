using BenchmarkDotNet.Running;
using EmbedSharp.Benchmarks.Formats;

// Run all:      dotnet run -c Release --project benchmarks/EmbedSharp.Benchmarks -- --filter '*'
// Run a group:  dotnet run -c Release --project benchmarks/EmbedSharp.Benchmarks -- --filter '*Forward*'
// Load probe:   dotnet run -c Release --project benchmarks/EmbedSharp.Benchmarks -- load ...  (see benchmarks/formats-load.sh)
// Gather round: dotnet run -c Release --project benchmarks/EmbedSharp.Benchmarks -- gather-round IDS_DIR REPS  (see benchmarks/gather-rounds.sh)
if (args is ["load", .. var rest])
    return LoadProbe.Run(rest);
if (args is ["gather-round", .. var roundArgs])
    return EmbedSharp.Benchmarks.Suite.GatherRounds.Run(roundArgs);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
