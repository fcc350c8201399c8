using System.Diagnostics;
using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Quantization;
using EmbedSharp.Search;
using EmbedSharp.Tables;
using EmbedSharp.Training.Common;
using EmbedSharp.Training.Word2Vec;

namespace EmbedSharp.Training.Quickstart;

/// <summary>
/// The quick start as one library call: train word2vec skip-gram on a corpus, score the table on the
/// analogy and word-pair sets, quantize it to 8 and 4 bits (MLX affine) and measure what each form
/// keeps (reconstruction, neighbour overlap, the same two scores). <c>embedsharp quickstart</c> prints
/// the result and writes the files; nothing here writes anything.
/// </summary>
public static class QuickstartWorkflow
{
    /// <summary>Words the shipped corpus uses hundreds to thousands of times, from both the Bible and Austen.</summary>
    public static IReadOnlyList<string> ProbeWords { get; } = ["king", "sister", "letter", "happy", "gold", "war"];

    /// <summary>How many of the commonest words the neighbour overlap averages over.</summary>
    public const int OverlapWords = 1000;

    /// <summary>How many neighbours the overlap compares.</summary>
    public const int OverlapK = 10;

    /// <summary>Neighbours listed per probe word.</summary>
    public const int ProbeNeighbours = 6;

    /// <summary>The bit widths the table is quantized to, in the order of <see cref="QuickstartResult.Quantized"/>.</summary>
    public static IReadOnlyList<int> Bits { get; } = [8, 4];

    /// <summary>Runs the quick start (see the type's summary).</summary>
    /// <exception cref="ArgumentException">Dims not a positive multiple of 32, or epochs or threads below 1.</exception>
    /// <exception cref="OperationCanceledException">Never: a cancelled run returns the table trained so far (see <see cref="TrainingSummary.Cancelled"/>).</exception>
    public static QuickstartResult Run(QuickstartOptions options, CancellationToken cancellationToken = default)
    {
        const string op = "quickstart";
        Guard.NotNull(op, options);
        Guard.NotNull(op, options.Corpus);
        Guard.NotNull(op, options.Analogies);
        Guard.NotNull(op, options.WordPairs);
        Guard.Positive(op, options.Epochs, nameof(options.Epochs));
        Guard.Positive(op, options.Threads, nameof(options.Threads));
        if (options.Dims < 32 || options.Dims % 32 != 0)
            ThrowHelper.Argument(op, nameof(options.Dims), $"dims {options.Dims} must be a positive multiple of 32 to quantize; try 64 or 128");

        var clock = Stopwatch.StartNew();
        var losses = new List<(double Fraction, double Loss)>();
        var trained = Word2VecTrainer.Train(options.Corpus, new Word2VecOptions
        {
            Dims = options.Dims, Window = 5, Negative = 5, MinCount = 5, Epochs = options.Epochs, Threads = options.Threads, Seed = options.Seed,
            ProgressInterval = 50_000,
            Progress = new Relay(p =>
            {
                if (p.Stage == "train" && !double.IsNaN(p.Loss))
                    lock (losses) losses.Add((p.Fraction, p.Loss));
                options.Progress?.Report(p);
            }),
        }, cancellationToken);
        try
        {
            var vocabulary = trained.Vocabulary;
            string[] words = [.. vocabulary.Tokens];
            var float32 = new KeyedVectors(words, trained.Vectors);
            var probes = ProbeWords.Where(float32.Contains).Select(w => new QuickstartProbe(
                w, vocabulary.GetCount(vocabulary.GetId(w)), [.. float32.MostSimilar(w, ProbeNeighbours).Select(s => s.Word)])).ToArray();
            var scores = Evaluate(float32, options);
            var reference = Neighbours(float32, OverlapWords);

            int group = options.Dims % 64 == 0 ? 64 : 32;
            var quantized = new List<QuickstartQuantized>();
            foreach (int bits in Bits)
            {
                var table = QuantizedTable.Quantize(trained.Vectors, group, bits);
                using var dense = table.Dequantize(DType.Float32);
                using var kv = new KeyedVectors(words, dense);
                quantized.Add(new QuickstartQuantized(bits, group, table, QuantizationReport.Compare(trained.Vectors, table),
                    Evaluate(kv, options), Overlap(reference, Neighbours(kv, OverlapWords))));
            }
            lock (losses)
                return new QuickstartResult(trained, float32, scores, probes, quantized, [.. losses.OrderBy(x => x.Fraction)], clock.Elapsed);
        }
        catch
        {
            trained.Dispose();
            throw;
        }
    }

    /// <summary>Scores <paramref name="vectors"/> on both test sets of <paramref name="options"/>.</summary>
    public static QuickstartScores Evaluate(KeyedVectors vectors, QuickstartOptions options)
    {
        Guard.NotNull("quickstart.evaluate", vectors);
        Guard.NotNull("quickstart.evaluate", options);
        AnalogyEvaluation analogy;
        using (var s = options.Analogies())
            analogy = vectors.EvaluateWordAnalogies(s);
        WordPairsEvaluation pairs;
        using (var s = options.WordPairs())
            pairs = vectors.EvaluateWordPairs(s);
        return new QuickstartScores(analogy, pairs);
    }

    /// <summary>The <see cref="OverlapK"/> nearest neighbours of each of the first <paramref name="words"/> words (the commonest, in a trained table).</summary>
    public static string[][] Neighbours(KeyedVectors vectors, int words)
    {
        Guard.NotNull("quickstart.neighbours", vectors);
        return [.. Enumerable.Range(0, Math.Min(words, vectors.Count)).Select(i => vectors.MostSimilar(vectors.Words[i], OverlapK).Select(s => s.Word).ToArray())];
    }

    /// <summary>
    /// The mean share of <paramref name="reference"/>'s neighbour lists that <paramref name="other"/>'s
    /// lists (same words, same order) also hold, in [0, 1]; a word repeated in a list counts once.
    /// </summary>
    /// <exception cref="ArgumentException">The two hold a different number of lists.</exception>
    public static double Overlap(string[][] reference, string[][] other)
    {
        const string op = "quickstart.overlap";
        Guard.NotNull(op, reference);
        Guard.NotNull(op, other);
        if (other.Length != reference.Length)
            ThrowHelper.Argument(op, nameof(other), $"{other.Length} neighbour lists against {reference.Length}; give one list per reference word");
        long shared = 0, total = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            shared += reference[i].Intersect(other[i], StringComparer.Ordinal).Count();
            total += reference[i].Length;
        }
        return total == 0 ? 1.0 : (double)shared / total;
    }

    private sealed class Relay(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}

/// <summary>Scores of one table on the analogy questions and on the word pairs.</summary>
public sealed record QuickstartScores(AnalogyEvaluation Analogy, WordPairsEvaluation Pairs);

/// <summary>A probe word, how often the corpus has it, and its nearest neighbours in the float32 table.</summary>
public sealed record QuickstartProbe(string Word, long Count, IReadOnlyList<string> Neighbours);

/// <summary>
/// One quantized form of the trained table: its bits and group size, the table, how far it moved the
/// rows, its scores, and the share of the float32 table's neighbours it keeps.
/// </summary>
public sealed record QuickstartQuantized(int Bits, int GroupSize, QuantizedTable Table, QuantizationReport Report, QuickstartScores Scores, double NeighbourOverlap);

/// <summary>
/// What <see cref="QuickstartWorkflow.Run"/> found. Owns the trained table: dispose it when done.
/// </summary>
public sealed class QuickstartResult : IDisposable
{
    internal QuickstartResult(WordVectors trained, KeyedVectors vectors, QuickstartScores scores, IReadOnlyList<QuickstartProbe> probes,
        IReadOnlyList<QuickstartQuantized> quantized, IReadOnlyList<(double Fraction, double Loss)> losses, TimeSpan elapsed)
    {
        Trained = trained;
        Vectors = vectors;
        Scores = scores;
        Probes = probes;
        Quantized = quantized;
        Losses = losses;
        Elapsed = elapsed;
    }

    /// <summary>The trained vocabulary, vectors and training summary.</summary>
    public WordVectors Trained { get; }

    /// <summary>Queries over the float32 table (neighbours, analogies).</summary>
    public KeyedVectors Vectors { get; }

    /// <summary>The float32 table's scores.</summary>
    public QuickstartScores Scores { get; }

    /// <summary>The probe words the vocabulary has, with counts and neighbours.</summary>
    public IReadOnlyList<QuickstartProbe> Probes { get; }

    /// <summary>The 8-bit and 4-bit forms, in that order.</summary>
    public IReadOnlyList<QuickstartQuantized> Quantized { get; }

    /// <summary>Every training progress report's mean loss, by the share of training done.</summary>
    public IReadOnlyList<(double Fraction, double Loss)> Losses { get; }

    /// <summary>Wall time of the whole run.</summary>
    public TimeSpan Elapsed { get; }

    /// <inheritdoc/>
    public void Dispose()
    {
        Vectors.Dispose();
        Trained.Dispose();
    }
}
