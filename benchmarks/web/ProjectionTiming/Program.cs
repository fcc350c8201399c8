using System.Diagnostics;
using EmbedSharp.Numerics;

// t-SNE of N clustered points (D dims) against PCA of the same points (the peer), wall and CPU
// time, best of R runs; and the exact reference on a 600-point subset against Barnes-Hut on it.
// CPU time (user + system of this process) moves less than wall time when other work shares the
// cores: on an idle machine wall time approaches CPU time / threads used.
// Usage: ProjectionTiming [N=5000] [D=300] [R=3]
int n = args.Length > 0 ? int.Parse(args[0]) : 5000;
int d = args.Length > 1 ? int.Parse(args[1]) : 300;
int repeats = args.Length > 2 ? int.Parse(args[2]) : 3;
var rng = new SeededRandom(24);
var centres = new double[50 * d];
for (int i = 0; i < centres.Length; i++)
    centres[i] = rng.NextNormal();
var data = new float[n * d];
for (int i = 0; i < n; i++)
    for (int j = 0; j < d; j++)
        data[i * d + j] = (float)(centres[(i % 50) * d + j] + 0.6 * rng.NextNormal());
var layout = new float[2 * n];

(double Wall, double Cpu) Best(Action run)
{
    double wall = double.MaxValue, cpu = double.MaxValue;
    for (int r = 0; r < repeats; r++)
    {
        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        run();
        wall = Math.Min(wall, clock.Elapsed.TotalSeconds);
        process.Refresh();
        cpu = Math.Min(cpu, (process.TotalProcessorTime - cpu0).TotalSeconds);
    }
    return (wall, cpu);
}

var tsne = Best(() => Kernels.Tsne(data, n, d, layout));
var pca = Best(() => Kernels.Pca(data, n, d, 2, layout));
Console.WriteLine($"RESULT tsne n={n} d={d} wall_s={tsne.Wall:F2} cpu_s={tsne.Cpu:F2}");
Console.WriteLine($"RESULT pca  n={n} d={d} wall_s={pca.Wall:F2} cpu_s={pca.Cpu:F2}");
Console.WriteLine($"RESULT tsne/pca wall={tsne.Wall / pca.Wall:F1}x cpu={tsne.Cpu / pca.Cpu:F1}x");

int m = Math.Min(n, 600);
var sub = data.AsSpan(0, m * d).ToArray();
var small = new float[2 * m];
var bh = Best(() => Kernels.Tsne(sub, m, d, small));
var exact = Best(() => Kernels.TsneReference(sub, m, d, small));
Console.WriteLine($"RESULT n={m}: barnes-hut wall_s={bh.Wall:F2} cpu_s={bh.Cpu:F2}; exact reference wall_s={exact.Wall:F2} cpu_s={exact.Cpu:F2}; exact/barnes-hut cpu={exact.Cpu / bh.Cpu:F1}x");
