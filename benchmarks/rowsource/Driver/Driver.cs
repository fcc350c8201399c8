// One process times several builds of the same workloads side by side: each build (RowSourceWorkloads.dll
// compiled against one library checkout) is loaded into its own AssemblyLoadContext, and the sides take turns
// call by call, so load from other processes, frequency changes and memory placement fall on every side alike.
// Driven by run.sh; see benchmarks/README.md ("Rows behind one seam", the single-process harness).
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime;
using System.Runtime.Loader;
using System.Text.RegularExpressions;

var inv = CultureInfo.InvariantCulture;
// Arguments: CASE BUDGET_SECONDS FILTER_REGEX NAME=PATH/RowSourceWorkloads.dll ... (the first side is the reference).
if (args.Length < 5)
{
    Console.Error.WriteLine("usage: RowSourceDriver CASE BUDGET_SECONDS FILTER NAME=WORKLOADS.dll NAME=WORKLOADS.dll [...]");
    return 2;
}
string caseName = args[0];
// The avx2 case must run without AVX-512: a runtime that ignores the switch (.NET 10 ignores DOTNET_EnableAVX512F
// and reads DOTNET_EnableAVX512) would time the native code a second time under the avx2 label.
if (caseName == "avx2" && System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)
{
    Console.Error.WriteLine("RowSourceDriver: case avx2 but Vector512 is accelerated; set DOTNET_EnableAVX512=0");
    return 3;
}
double budget = double.Parse(args[1], inv);
var filter = new Regex(args[2]);
var sides = args.Skip(3).Select(a =>
{
    int eq = a.IndexOf('=');
    string name = a[..eq], path = Path.GetFullPath(a[(eq + 1)..]);
    var context = new SideContext(name, path);
    var type = context.LoadFromAssemblyPath(path).GetType("RowSourceWorkloads.Workloads", throwOnError: true)!;
    var all = (IReadOnlyList<(string Name, Action Setup, Action Run, Action Teardown)>)type.GetMethod("All")!.Invoke(null, null)!;
    // Probe (where the live table and output lie, and their page backing), printed with ROWSOURCE_PROBE=1.
    var probe = type.GetMethod("Probe") is { } m ? () => (string)m.Invoke(null, null)! : (Func<string>)(() => "");
    return (Name: name, Workloads: all, Probe: probe);
}).ToArray();
int s = sides.Length;
string[] names = sides[0].Workloads.Select(w => w.Name).ToArray();
foreach (var side in sides)
{
    if (!side.Workloads.Select(w => w.Name).SequenceEqual(names))
        throw new InvalidOperationException($"side {side.Name} has a different workload list");
}
bool probing = Environment.GetEnvironmentVariable("ROWSOURCE_PROBE") == "1";
var clock = Stopwatch.StartNew();
for (int w = 0; w < names.Length; w++)
{
    if (!filter.IsMatch(names[w]))
        continue;
    var started = clock.Elapsed;
    // Only this workload's tables are alive: every side sets up, runs, then tears down before the next.
    foreach (var side in sides)
        side.Workloads[w].Setup();
    var samples = Enumerable.Range(0, s).Select(_ => new List<double>()).ToArray();
    // Warm-up, sides alternating, until the code is the steady state a long-running caller gets: no method
    // has been JIT-compiled for 8 rounds (tier-up and OSR are done; run.sh lowers the tier-up call count to 5
    // so a kernel called once per call gets there in a few calls), and at least 10 rounds; at most 150 rounds
    // or 6 s, but never fewer than 5 (a first call that allocates optimizer state can take seconds under load).
    // Timing a kernel still in its OSR or instrumented code measures the JIT's transition, not the kernel.
    var warm = Stopwatch.StartNew();
    double lastCall = double.MaxValue;
    long compiled = JitInfo.GetCompiledMethodCount();
    int quiet = 0, warmRounds = 0;
    while (warmRounds < 5 || (warmRounds < 150 && warm.Elapsed.TotalSeconds < 6 && (warmRounds < 10 || quiet < 8)))
    {
        lastCall = double.MaxValue;
        for (int k = 0; k < s; k++)
            lastCall = Math.Min(lastCall, Time(sides[k].Workloads[w].Run, 1));
        warmRounds++;
        if (warmRounds % 4 == 0)
            Thread.Sleep(20); // lets the background tier-1 compiles land before the next check
        long now = JitInfo.GetCompiledMethodCount();
        quiet = now == compiled ? quiet + 1 : 0;
        compiled = now;
    }
    // Each sample is the mean of enough back-to-back calls to last about 2 ms (so timer and scheduler
    // granularity stay small against it); rounds rotate which side goes first.
    int calls = (int)Math.Clamp(Math.Ceiling(2e-3 / Math.Max(lastCall, 1e-7)), 1, 10_000);
    var measure = Stopwatch.StartNew();
    int rounds = 0;
    while (rounds < 400 && (rounds < 15 || measure.Elapsed.TotalSeconds < budget))
    {
        for (int k = 0; k < s; k++)
        {
            int i = (k + rounds) % s;
            samples[i].Add(Time(sides[i].Workloads[w].Run, calls) / calls);
        }
        rounds++;
    }
    if (probing)
    {
        foreach (var side in sides)
            Console.Error.WriteLine($"  probe {caseName} {Environment.ProcessorCount}t {names[w]} {side.Name}: {side.Probe()}");
    }
    foreach (var side in sides)
        side.Workloads[w].Teardown();
    GC.Collect();
    GC.WaitForPendingFinalizers();
    double refMedian = Median(samples[0]);
    for (int k = 1; k < s; k++)
    {
        var ratios = samples[k].Zip(samples[0], (a, b) => a / b).ToList();
        var (lo, mid, hi) = MedianInterval(ratios);
        Console.WriteLine(string.Create(inv,
            $"{caseName}\t{Environment.ProcessorCount}\t{names[w]}\t{sides[k].Name}/{sides[0].Name}\t{refMedian * 1e3:F4}\t{Median(samples[k]) * 1e3:F4}\t{mid:F4}\t{lo:F4}\t{hi:F4}\t{rounds}\t{calls}"));
    }
    Console.Error.WriteLine(string.Create(inv,
        $"  {caseName} {Environment.ProcessorCount}t {names[w]}: {warmRounds} warm-up rounds (JIT {(quiet >= 8 ? "settled" : "still compiling")}), {rounds} rounds x {calls} calls, {(clock.Elapsed - started).TotalSeconds:F1} s"));
}
return 0;

static double Time(Action run, int calls)
{
    long t = Stopwatch.GetTimestamp();
    for (int i = 0; i < calls; i++)
        run();
    return Stopwatch.GetElapsedTime(t).TotalSeconds;
}

static double Median(List<double> x)
{
    var v = x.Order().ToArray();
    return v.Length % 2 == 1 ? v[v.Length / 2] : 0.5 * (v[v.Length / 2 - 1] + v[v.Length / 2]);
}

// The median of the per-round ratios with its distribution-free 95 % interval: the order statistics
// x(k) and x(n+1-k), k the largest with P(Binomial(n, 1/2) < k) <= 0.025 (no assumption on the shape of the noise).
static (double Lo, double Mid, double Hi) MedianInterval(List<double> x)
{
    var v = x.Order().ToArray();
    int n = v.Length;
    double cdf = 0;
    int k = 0;
    for (int j = 0; j < n; j++)
    {
        double p = Math.Exp(LogChoose(n, j) - n * Math.Log(2));
        if (cdf + p > 0.025)
            break;
        cdf += p;
        k = j + 1;
    }
    k = Math.Max(k, 1);
    return (v[k - 1], Median(x), v[n - k]);
}

static double LogChoose(int n, int k)
{
    double r = 0;
    for (int i = 1; i <= k; i++)
        r += Math.Log(n - k + i) - Math.Log(i);
    return r;
}

/// <summary>One build of the workloads and its own copy of the library it was compiled against.</summary>
sealed class SideContext(string name, string workloadsPath) : AssemblyLoadContext(name)
{
    private readonly AssemblyDependencyResolver _resolver = new(workloadsPath);

    protected override Assembly? Load(AssemblyName assemblyName) =>
        _resolver.ResolveAssemblyToPath(assemblyName) is { } path ? LoadFromAssemblyPath(path) : null;

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName) =>
        _resolver.ResolveUnmanagedDllToPath(unmanagedDllName) is { } path ? LoadUnmanagedDllFromPath(path) : IntPtr.Zero;
}
