using System.Text;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;
using EmbedSharp.Training.Common;

namespace EmbedSharp.Training.Tests;

/// <summary>Small synthetic corpora with known structure: words of one topic co-occur, topics never mix on a line.</summary>
internal static class TinyCorpus
{
    public static readonly string[][] Topics =
    [
        ["cat", "dog", "mouse", "horse", "cow", "sheep", "goat", "pig"],
        ["red", "green", "blue", "yellow", "purple", "orange", "black", "white"],
        ["one", "two", "three", "four", "five", "six", "seven", "eight"],
        ["paris", "london", "rome", "berlin", "madrid", "vienna", "oslo", "dublin"],
    ];

    public static string Text(int lines = 400, int wordsPerLine = 10, ulong seed = 7)
    {
        var random = new SeededRandom(seed);
        var sb = new StringBuilder();
        for (int l = 0; l < lines; l++)
        {
            var topic = Topics[random.NextInt(Topics.Length)];
            for (int w = 0; w < wordsPerLine; w++)
            {
                if (w > 0)
                    sb.Append(' ');
                sb.Append(topic[random.NextInt(topic.Length)]);
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }

    public static TextCorpus Corpus(int lines = 400, int wordsPerLine = 10, ulong seed = 7) => TextCorpus.FromText(Text(lines, wordsPerLine, seed));

    public static float Cosine(float[] a, float[] b) => System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(a, b);

    /// <summary>Mean cosine between words of the same topic minus the mean across topics.</summary>
    public static double TopicSeparation(Func<string, float[]?> vector)
    {
        double within = 0, across = 0;
        int nw = 0, na = 0;
        for (int t1 = 0; t1 < Topics.Length; t1++)
            for (int t2 = 0; t2 < Topics.Length; t2++)
                foreach (string a in Topics[t1])
                    foreach (string b in Topics[t2])
                    {
                        if (a == b)
                            continue;
                        var va = vector(a);
                        var vb = vector(b);
                        if (va is null || vb is null)
                            continue;
                        double c = Cosine(va, vb);
                        if (t1 == t2)
                        {
                            within += c;
                            nw++;
                        }
                        else
                        {
                            across += c;
                            na++;
                        }
                    }
        return within / nw - across / na;
    }

    public static bool AllFinite(EmbeddingTable t)
    {
        foreach (float x in t.AsSpan<float>())
            if (!float.IsFinite(x))
                return false;
        return true;
    }

    /// <summary>A corpus whose stream factory fails the test if it is ever opened.</summary>
    public static TextCorpus NeverOpened() => new(() => throw new Xunit.Sdk.XunitException("the corpus was opened although the options were invalid"));

    /// <summary>Cancels its token once a report arrives.</summary>
    public sealed class CancelOnFirstReport(CancellationTokenSource cts) : IProgress<TrainingProgress>
    {
        public int Reports { get; private set; }

        public void Report(TrainingProgress value)
        {
            Reports++;
            cts.Cancel();
        }
    }
}
