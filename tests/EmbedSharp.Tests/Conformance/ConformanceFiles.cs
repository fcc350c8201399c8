using System.Text.Json;
using Xunit.Abstractions;

namespace EmbedSharp.Tests.Conformance;

/// <summary>
/// Locates and reads the reference vectors in <c>../shared/conformance</c> (or
/// <c>$EMBEDSHARP_CONFORMANCE_DIR</c>). Every runner loads a file through here, loops over every
/// case it holds, fails on any case it cannot run, and prints a per-file pass count.
/// </summary>
public static class ConformanceFiles
{
    /// <summary>The vectors folder: <c>$EMBEDSHARP_CONFORMANCE_DIR</c>, else <c>../shared/conformance</c> above the repository root.</summary>
    public static string Directory
    {
        get
        {
            string? env = Environment.GetEnvironmentVariable("EMBEDSHARP_CONFORMANCE_DIR");
            if (!string.IsNullOrEmpty(env))
                return Path.GetFullPath(env);
            return Path.GetFullPath(Path.Combine(RepositoryRoot.Path, "..", "shared", "conformance"));
        }
    }

    /// <summary>Parses one vectors file; a missing file fails the test with the path it looked for.</summary>
    public static JsonDocument Load(string fileName)
    {
        string path = Path.Combine(Directory, fileName);
        if (!File.Exists(path))
            throw new FileNotFoundException($"[conformance] vectors file not found: {path} (set EMBEDSHARP_CONFORMANCE_DIR to the folder holding it)", path);
        return JsonDocument.Parse(File.ReadAllBytes(path));
    }

    /// <summary>All file names in the folder matching a pattern, sorted.</summary>
    public static string[] List(string pattern) =>
        System.IO.Directory.GetFiles(Directory, pattern).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;
}

/// <summary>A tensor object from a PyTorch vectors file: <c>{"dtype", "shape", "data"}</c>.</summary>
public sealed record JsonTensor(string DType, nint[] Shape, double[] Data)
{
    /// <summary>Reads <c>{"dtype","shape","data"}</c> (PyTorch files) or <c>{"dtype","shape","values"}</c>.</summary>
    public static JsonTensor Parse(JsonElement e)
    {
        string dtype = e.TryGetProperty("dtype", out var dt) ? dt.GetString()! : "int64";
        nint[] shape = e.GetProperty("shape").EnumerateArray().Select(x => (nint)x.GetInt64()).ToArray();
        JsonElement data = e.TryGetProperty("data", out var d) ? d : e.GetProperty("values");
        double[] values = data.EnumerateArray().Select(ParseNumber).ToArray();
        return new JsonTensor(dtype, shape, values);
    }

    private static double ParseNumber(JsonElement x) => x.ValueKind switch
    {
        JsonValueKind.True => 1,
        JsonValueKind.False => 0,
        JsonValueKind.String => x.GetString() switch
        {
            "inf" => double.PositiveInfinity,
            "-inf" => double.NegativeInfinity,
            var s => double.Parse(s!, System.Globalization.CultureInfo.InvariantCulture),
        },
        _ => x.GetDouble(),
    };

    /// <summary>The values as float32 (exact for the vectors' float32 data).</summary>
    public float[] Floats() => Data.Select(v => (float)v).ToArray();

    /// <summary>The values as int32 (indices).</summary>
    public int[] Ints() => Data.Select(v => checked((int)v)).ToArray();

    /// <summary>The values as int64.</summary>
    public long[] Longs() => Data.Select(v => checked((long)v)).ToArray();
}

/// <summary>Tolerance checks as the conformance README defines them.</summary>
public readonly record struct Tolerance(double RTol, double ATol)
{
    /// <summary>Reads <c>meta.tolerance</c>.</summary>
    public static Tolerance FromMeta(JsonDocument doc)
    {
        var t = doc.RootElement.GetProperty("meta").GetProperty("tolerance");
        return new Tolerance(t.GetProperty("rtol").GetDouble(), t.GetProperty("atol").GetDouble());
    }

    /// <summary>
    /// Returns null when <c>|a − e| ≤ atol + rtol·|e|</c> holds everywhere, else a message naming
    /// the first element that fails.
    /// </summary>
    public string? Compare(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, string what)
    {
        if (actual.Length != expected.Length)
            return $"{what}: length {actual.Length}, expected {expected.Length}";
        for (int i = 0; i < actual.Length; i++)
        {
            double a = actual[i], e = expected[i];
            if (!(Math.Abs(a - e) <= ATol + RTol * Math.Abs(e)))
                return $"{what}[{i}]: {a:R}, expected {e:R} (rtol {RTol}, atol {ATol})";
        }
        return null;
    }
}

/// <summary>Collects per-case outcomes of one vectors file and reports them in one line.</summary>
public sealed class ConformanceReport(string file, ITestOutputHelper output)
{
    private readonly List<string> _failures = [];
    private int _passed;
    private int _rejected;

    /// <summary>Records one case; <paramref name="failure"/> null means it passed.</summary>
    public void Record(string caseName, string? failure)
    {
        if (failure is null)
            _passed++;
        else
            _failures.Add($"{caseName}: {failure}");
    }

    /// <summary>Runs one case, turning any exception into a failure of that case.</summary>
    public void Run(string caseName, Func<string?> check)
    {
        string? failure;
        try
        {
            failure = check();
        }
        catch (Exception ex)
        {
            failure = $"threw {ex.GetType().Name}: {ex.Message}";
        }
        Record(caseName, failure);
    }

    /// <summary>Counts a case the port deliberately rejects (a <c>torch_undefined</c> input).</summary>
    public void Rejected(string caseName, string reason)
    {
        _rejected++;
        output.WriteLine($"{file}: {caseName} rejected as recommended ({reason})");
    }

    /// <summary>Prints the count and fails the test if any case failed or nothing ran.</summary>
    public void Finish()
    {
        string line = $"{file}: {_passed} passed, {_failures.Count} failed" + (_rejected > 0 ? $", {_rejected} rejected" : "");
        output.WriteLine(line);
        Console.WriteLine(line);
        foreach (string f in _failures)
            output.WriteLine("  " + f);
        Assert.True(_passed + _rejected > 0, $"{file}: no case ran");
        Assert.True(_failures.Count == 0, line + Environment.NewLine + string.Join(Environment.NewLine, _failures));
    }
}
