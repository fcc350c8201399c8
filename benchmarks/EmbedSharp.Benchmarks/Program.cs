using BenchmarkDotNet.Running;

// Run all:      dotnet run -c Release --project benchmarks/EmbedSharp.Benchmarks -- --filter '*'
// Run a group:  dotnet run -c Release --project benchmarks/EmbedSharp.Benchmarks -- --filter '*Forward*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
