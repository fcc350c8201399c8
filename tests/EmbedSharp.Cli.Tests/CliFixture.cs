using EmbedSharp.Cli.Output;

namespace EmbedSharp.Cli.Tests;

/// <summary>A temp folder with tiny vector files, and a helper that runs the CLI in-process.</summary>
public sealed class CliFixture : IDisposable
{
    public CliFixture()
    {
        Dir = Directory.CreateTempSubdirectory("es-cli-").FullName;
        // 6 words × 64 dims, word2vec text: two clear clusters (royals, fruit).
        var lines = new List<string> { "6 64" };
        string[] words = ["king", "queen", "prince", "apple", "pear", "plum"];
        for (int w = 0; w < words.Length; w++)
        {
            var v = new float[64];
            for (int d = 0; d < 64; d++)
                v[d] = (w < 3 ? (d < 32 ? 1f : 0f) : (d < 32 ? 0f : 1f)) + 0.01f * ((w * 31 + d * 7) % 13 - 6);
            lines.Add(words[w] + " " + string.Join(" ", v.Select(x => x.ToString("R", System.Globalization.CultureInfo.InvariantCulture))));
        }
        Word2VecText = Path.Combine(Dir, "tiny.txt");
        File.WriteAllLines(Word2VecText, lines);
        Analogies = Path.Combine(Dir, "analogies.txt");
        File.WriteAllLines(Analogies, [": royals", "king queen prince queen", "king prince queen prince", ": fruit", "apple pear plum pear", "apple zzz plum pear"]);
        Pairs = Path.Combine(Dir, "pairs.txt");
        File.WriteAllLines(Pairs, ["king\tqueen\t9", "king\tapple\t1", "pear\tplum\t8", "queen\tpear\t2", "zzz\tking\t5"]);
    }

    public string Dir { get; }

    public string Word2VecText { get; }

    public string Analogies { get; }

    public string Pairs { get; }

    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "EmbedSharp.slnx")))
                dir = dir.Parent;
            return dir?.FullName ?? throw new DirectoryNotFoundException("repository root not found");
        }
    }

    /// <summary>The tiny fastText model shipped with the formats tests (see tests/Data/README.md).</summary>
    public static string FastTextBin => Path.Combine(RepoRoot, "tests", "Data", "fasttext", "tiny-skipgram.bin");

    public string PathOf(string name) => Path.Combine(Dir, name);

    public static (int Code, string Out, string Error) RunWithInput(string input, params string[] args)
    {
        var console = new BufferConsole(input);
        int code = EmbedSharpCli.Run(args, console);
        return (code, console.OutText, console.ErrorText);
    }

    public static (int Code, string Out, string Error) Run(params string[] args) => RunWithInput("", args);

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}
