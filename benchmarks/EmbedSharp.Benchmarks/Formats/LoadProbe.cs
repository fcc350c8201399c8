using System.Diagnostics;
using EmbedSharp.Formats;
using EmbedSharp.Formats.Mapping;
using EmbedSharp.Formats.Npy;
using EmbedSharp.Formats.Word2Vec;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;

namespace EmbedSharp.Benchmarks.Formats;

/// <summary>
/// Start-up time and resident memory of a large table, one mode per process so the readings do not
/// mix (driven by benchmarks/formats-load.sh):
/// <c>load make DIR MIB</c> writes a word2vec-binary table of about MIB mebibytes and its .npy copy;
/// <c>load w2v-read|npy-read|npy-map FILE</c> opens the file, reads 1,000 random rows, and prints
/// one JSON line with the seconds to that point and VmRSS (split into anonymous and file-backed) / VmHWM (peak) in MiB.
/// </summary>
public static class LoadProbe
{
    public static int Run(string[] args)
    {
        if (args is ["make", string dir, string mib])
        {
            var (w2v, npy, rows) = Make(dir, int.Parse(mib, System.Globalization.CultureInfo.InvariantCulture));
            Console.WriteLine($"wrote {rows:N0} × {Dims}: {new FileInfo(w2v).Length >> 20} MiB word2vec binary, {new FileInfo(npy).Length >> 20} MiB .npy");
            return 0;
        }
        if (args is [string mode, string file])
        {
            var sw = Stopwatch.StartNew();
            using WordEmbeddings emb = mode switch
            {
                "w2v-read" => Word2VecFormat.Binary.Read(file),
                "npy-read" => NpyFormat.Instance.Read(file),
                "npy-map" => NpyFormat.Instance.Open(file, MapAccess.ReadOnly),
                _ => throw new ArgumentException($"[load] unknown mode {mode} (w2v-read, npy-read, npy-map)"),
            };
            float s = Touch(emb.Table);
            double seconds = sw.Elapsed.TotalSeconds;
            var m = Memory();
            Console.WriteLine($"{{\"mode\":\"{mode}\",\"rows\":{emb.NumEmbeddings},\"dims\":{emb.Dims},\"seconds\":{seconds:0.000},\"rss_mib\":{m.Rss >> 20},\"rss_anon_mib\":{m.Anon >> 20},\"rss_file_mib\":{m.File >> 20},\"peak_rss_mib\":{m.Peak >> 20},\"check\":{s:0.###}}}");
            return 0;
        }
        Console.Error.WriteLine("usage: load make DIR MIB | load (w2v-read|npy-read|npy-map) FILE");
        return 2;
    }

    public const int Dims = 300;

    /// <summary>Writes a seeded word2vec-binary table of about <paramref name="mib"/> MiB and its .npy (+ .vocab) copy.</summary>
    public static (string Word2Vec, string Npy, int Rows) Make(string dir, int mib)
    {
        Directory.CreateDirectory(dir);
        string w2v = Path.Combine(dir, "vectors.bin"), npy = Path.Combine(dir, "vectors.npy");
        int rows = (int)((long)mib * 1024 * 1024 / (Dims * 4 + 12));
        var rng = new SeededRandom(1);
        using (var fs = File.Create(w2v))
        using (var writer = Word2VecFormat.Binary.OpenWriter(fs, rows, Dims))
        {
            var row = new float[Dims];
            for (int r = 0; r < rows; r++)
            {
                for (int j = 0; j < Dims; j++)
                    row[j] = rng.NextSingle() - 0.5f;
                writer.WriteRow("w" + r, row);
            }
            writer.Complete();
        }
        FormatConverter.Convert(w2v, npy, NpyFormat.Instance);
        return (w2v, npy, rows);
    }

    private static float Touch(EmbeddingTable table)
    {
        var rng = new SeededRandom(2);
        var row = new float[table.Dims];
        float s = 0;
        for (int i = 0; i < 1000; i++)
        {
            table.ReadRow(rng.NextInt(table.NumEmbeddings), row);
            s += row[0];
        }
        return s;
    }

    /// <summary>VmRSS, its anonymous part (private memory) and its file part (mapped page cache), and VmHWM.</summary>
    private static (long Rss, long Anon, long File, long Peak) Memory()
    {
        long rss = 0, anon = 0, file = 0, peak = 0;
        foreach (string line in System.IO.File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                rss = Kib(line) * 1024;
            else if (line.StartsWith("RssAnon:", StringComparison.Ordinal))
                anon = Kib(line) * 1024;
            else if (line.StartsWith("RssFile:", StringComparison.Ordinal))
                file = Kib(line) * 1024;
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                peak = Kib(line) * 1024;
        }
        return (rss, anon, file, peak);
    }

    private static long Kib(string line) =>
        long.Parse(line.Split(':')[1].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
}
