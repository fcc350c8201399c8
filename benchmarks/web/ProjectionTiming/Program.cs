using System.Diagnostics;
using EmbedSharp.Numerics;

// t-SNE of N clustered points (D dims) against PCA of the same points (the peer), wall and CPU
// time, best of R runs; and the exact reference on a 600-point subset against Barnes-Hut on it.
// CPU time (user + system of this process) moves less than wall time when other work shares the
// cores: on an idle machine wall time approaches CPU time / threads used.
// Usage: ProjectionTiming [N=5000] [D=300] [R=3] [ITERATIONS=500 (the explorer's; the library's default is 750)]
int n = args.Length > 0 ? int.Parse(args[0]) : 5000;
int d = args.Length > 1 ? int.Parse(args[1]) : 300;
int repeats = args.Length > 2 ? int.Parse(args[2]) : 3;
int iterations = args.Length > 3 ? int.Parse(args[3]) : 500;
var options = new TsneOptions { Iterations = iterations, ExaggerationIterations = 250 };
var rng = new SeededRandom(24);
var centres = new double[50 * d];
for (int i = 0; i < centres.Length; i++)
    centres[i] = rng.NextNormal();
var data = new float[n * d];
for (int i = 0; i < n; i++)
    for (int j = 0; j < d; j++)
        data[i * d + j] = (float)(centres[(i % 50) * d + j] + 0.6 * rng.NextNormal());
var layout = new float[2 * n];

double firstWall = -1;
(double Wall, double Cpu) Best(Action run)
{
    double wall = double.MaxValue, cpu = double.MaxValue;
    for (int r = 0; r < repeats; r++)
    {
        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        run();
        if (firstWall < 0)
            firstWall = clock.Elapsed.TotalSeconds;
        wall = Math.Min(wall, clock.Elapsed.TotalSeconds);
        process.Refresh();
        cpu = Math.Min(cpu, (process.TotalProcessorTime - cpu0).TotalSeconds);
    }
    return (wall, cpu);
}

var tsne = Best(() => Kernels.Tsne(data, n, d, layout, options));
double tsneTrust = Trustworthiness(data, n, d, layout, 10);
var pca = Best(() => Kernels.Pca(data, n, d, 2, layout));
double pcaTrust = Trustworthiness(data, n, d, layout, 10);
Console.WriteLine($"RESULT quality n={n}: trustworthiness@10 tsne={tsneTrust:F4} pca={pcaTrust:F4}");
Console.WriteLine($"RESULT tsne n={n} d={d} iterations={iterations} wall_s={tsne.Wall:F2} cpu_s={tsne.Cpu:F2} first_call_wall_s={firstWall:F2} (the process's first t-SNE: its code compiled on the way)");
Console.WriteLine($"RESULT pca  n={n} d={d} wall_s={pca.Wall:F2} cpu_s={pca.Cpu:F2}");
Console.WriteLine($"RESULT tsne/pca wall={tsne.Wall / pca.Wall:F1}x cpu={tsne.Cpu / pca.Cpu:F1}x");

int m = Math.Min(n, 600);
var sub = data.AsSpan(0, m * d).ToArray();
var small = new float[2 * m];
var bh = Best(() => Kernels.Tsne(sub, m, d, small, options));
double bhTrust = Trustworthiness(sub, m, d, small, 10);
var exact = Best(() => Kernels.TsneReference(sub, m, d, small, new TsneOptions()));
double exactTrust = Trustworthiness(sub, m, d, small, 10);
Console.WriteLine($"RESULT quality n={m}: trustworthiness@10 barnes-hut={bhTrust:F4} exact reference={exactTrust:F4}");
Console.WriteLine($"RESULT n={m}: barnes-hut ({iterations} iterations) wall_s={bh.Wall:F2} cpu_s={bh.Cpu:F2}; exact reference (750 iterations) wall_s={exact.Wall:F2} cpu_s={exact.Cpu:F2}; exact/barnes-hut cpu={exact.Cpu / bh.Cpu:F1}x");

// Trustworthiness (Venna and Kaski 2001, scikit-learn's definition): 1 − 2/(n k (2n − 3k − 1)) ×
// Σ_i Σ_{j among i's k nearest in the layout but not in the data} (rank of j from i in the data − k).
static double Trustworthiness(float[] data, int n, int d, float[] layout, int k)
{
    double penalty = 0;
    var gate = new object();
    Parallel.For(0, n, () => 0.0, (i, _, local) =>
    {
        var dist = new double[n];
        var row = data.AsSpan(i * d, d);
        for (int j = 0; j < n; j++)
            dist[j] = j == i ? double.NegativeInfinity : System.Numerics.Tensors.TensorPrimitives.Distance(row, data.AsSpan(j * d, d));
        var byData = Enumerable.Range(0, n).OrderBy(j => dist[j]).ThenBy(j => j).ToArray(); // byData[0] = i
        var rank = new int[n];
        for (int r = 0; r < n; r++)
            rank[byData[r]] = r;
        var near = Enumerable.Range(0, n).Where(j => j != i)
            .OrderBy(j => Math.Pow(layout[2 * i] - layout[2 * j], 2) + Math.Pow(layout[2 * i + 1] - layout[2 * j + 1], 2)).ThenBy(j => j).Take(k);
        foreach (int j in near)
            if (rank[j] > k)
                local += rank[j] - k;
        return local;
    }, local => { lock (gate) penalty += local; });
    return 1 - 2.0 / (n * k * (2.0 * n - 3 * k - 1)) * penalty;
}
