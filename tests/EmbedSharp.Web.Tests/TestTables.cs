using System.Globalization;
using System.Text;
using EmbedSharp.Numerics;

namespace EmbedSharp.Web.Tests;

/// <summary>
/// A word2vec text table with planted structure, and a served root around it with the hostile
/// paths the server must refuse: a file outside the root, a link to it, a linked folder out of the root.
/// </summary>
public sealed class TestTables : IDisposable
{
    public const int Dims = 64;

    /// <summary>Three clusters of eight words; gender and royalty axes for the analogy.</summary>
    public static readonly string[] Fruits = ["apple", "banana", "cherry", "grape", "lemon", "mango", "peach", "plum"];
    public static readonly string[] Animals = ["cat", "dog", "horse", "mouse", "otter", "rabbit", "tiger", "wolf"];
    public static readonly string[] Colours = ["amber", "azure", "black", "coral", "green", "indigo", "red", "white"];

    public TestTables()
    {
        Dir = Path.Combine(Path.GetTempPath(), "embedsharp-web-" + Guid.NewGuid().ToString("N"));
        Root = Path.Combine(Dir, "root");
        Directory.CreateDirectory(Path.Combine(Root, "sub"));
        Directory.CreateDirectory(Path.Combine(Dir, "outside"));
        Table = Path.Combine(Root, "planted.txt");
        File.WriteAllText(Table, Planted());
        File.WriteAllText(Path.Combine(Root, "sub", "small.txt"), "3 4\nx 1 0 0 0\ny 0 1 0 0\nz 0 0 1 0\n");
        Outside = Path.Combine(Dir, "outside", "secret.txt");
        File.WriteAllText(Outside, "1 4\nsecret 1 2 3 4\n");
        File.CreateSymbolicLink(Path.Combine(Root, "link-out.txt"), Outside);
        File.CreateSymbolicLink(Path.Combine(Root, "link-in.txt"), Path.Combine(Root, "sub", "small.txt"));
        Directory.CreateSymbolicLink(Path.Combine(Root, "dir-out"), Path.Combine(Dir, "outside"));
    }

    public string Dir { get; }

    public string Root { get; }

    /// <summary>The planted table, named on the command line (served as "planted.txt").</summary>
    public string Table { get; }

    public string Outside { get; }

    private static string Planted()
    {
        var r = new SeededRandom(11);
        var rows = new List<(string, double[])>();
        double[] Axis()
        {
            var a = new double[Dims];
            for (int d = 0; d < Dims; d++)
                a[d] = r.NextNormal();
            return a;
        }
        double[] Near(double[] centre, double spread)
        {
            var v = new double[Dims];
            for (int d = 0; d < Dims; d++)
                v[d] = centre[d] + spread * r.NextNormal();
            return v;
        }
        double[] Sum(params double[][] parts)
        {
            var v = new double[Dims];
            foreach (var p in parts)
                for (int d = 0; d < Dims; d++)
                    v[d] += p[d];
            return v;
        }
        var fruit = Axis();
        var animal = Axis();
        var colour = Axis();
        foreach (var w in Fruits)
            rows.Add((w, Near(fruit, 0.35)));
        foreach (var w in Animals)
            rows.Add((w, Near(animal, 0.35)));
        foreach (var w in Colours)
            rows.Add((w, Near(colour, 0.35)));
        var royal = Axis();
        var person = Axis();
        var male = Axis();
        var female = Axis();
        rows.Add(("king", Near(Sum(royal, male), 0.1)));
        rows.Add(("queen", Near(Sum(royal, female), 0.1)));
        rows.Add(("man", Near(Sum(person, male), 0.1)));
        rows.Add(("woman", Near(Sum(person, female), 0.1)));
        rows.Add(("prince", Near(Sum(royal, male), 0.3)));
        rows.Add(("princess", Near(Sum(royal, female), 0.3)));
        // Filler words: noise, so a projection has a crowd around the clusters.
        for (int i = 0; i < 60; i++)
            rows.Add(($"word{i:D2}", Near(new double[Dims], 1.0)));
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{rows.Count} {Dims}\n");
        foreach (var (word, v) in rows)
            sb.Append(word).Append(' ').AppendJoin(' ', v.Select(x => x.ToString("R", CultureInfo.InvariantCulture))).Append('\n');
        return sb.ToString();
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
