using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;
using EmbedSharp.Training.Common;
using EmbedSharp.Training.Losses;
using EmbedSharp.Vocabularies;

namespace EmbedSharp.Training.FastText;

/// <summary>
/// fastText (Bojanowski et al. 2017): skip-gram or CBOW where a word is the mean of its own row and
/// its character n-gram rows (hashed into <c>Bucket</c> rows with <see cref="SubwordHasher"/>), so rare
/// and unseen words share statistics through their n-grams.
/// </summary>
/// <remarks>
/// <para>Follows fastText 0.9.2's unsupervised training: every line ends with the word <c>&lt;/s&gt;</c>;
/// frequent words are discarded with probability <c>1 − min(1, √(t/f) + t/f)</c>; the window is uniform in
/// <c>1 … WindowSize</c>; the input matrix starts uniform in <c>[−1/Dims, 1/Dims]</c> and the output at zero;
/// the hidden vector is the mean of the input rows and their gradient is added to every one of them
/// undivided; the rate is <c>lr·(1 − p)</c> with p the share of <c>Epoch · ntokens</c> processed, refreshed
/// every <c>LrUpdateRate</c> tokens. Skip-gram keeps the centre word's hidden vector up to date by adding
/// the same gradient to it after each context word (the mean of rows that all moved by g moved by g),
/// instead of recomputing the mean as fastText does; the result is the same up to rounding.</para>
/// <para>One thread and a fixed seed are deterministic; cancellation returns the model as it is.</para>
/// </remarks>
public static class FastTextTrainer
{
    /// <summary>The end-of-line word fastText appends to every line.</summary>
    public const string EndOfLine = SpecialTokens.Eos;

    /// <summary>Builds the dictionary from <paramref name="corpus"/> and trains.</summary>
    /// <exception cref="ArgumentException">An option is out of range (checked before anything is read).</exception>
    /// <exception cref="InvalidOperationException">No word reaches <c>MinCount</c>.</exception>
    public static FastTextTrainedModel Train(TextCorpus corpus, FastTextOptions? options = null, CancellationToken cancellationToken = default)
    {
        const string op = "fasttext.train";
        Guard.NotNull(op, corpus);
        options ??= new FastTextOptions();
        options.Validate();
        var vocabulary = CorpusVocabulary.Build(corpus, options.MinCount, EndOfLine, cancellationToken);
        if (vocabulary.Count == 0 || vocabulary.TotalCount == 0)
            ThrowHelper.InvalidOperation(op, $"the vocabulary is empty (no word occurs MinCount = {options.MinCount} times or more); lower MinCount or use a larger corpus");
        if ((long)vocabulary.Count + options.EffectiveBucket > int.MaxValue)
            ThrowHelper.ArgumentOutOfRange(op, nameof(options.Bucket), options.Bucket, $"{vocabulary.Count} words + {options.EffectiveBucket} buckets exceed {int.MaxValue} rows");

        int nwords = vocabulary.Count, dims = options.Dims;
        var random = new SeededRandom(options.Seed);
        var input = new EmbeddingTable(nwords + options.EffectiveBucket, dims);
        TableRows.InitializeUniform(input, random, 1f / dims);
        var output = new EmbeddingTable(nwords, dims);
        var (offsets, rows) = SubwordRows(vocabulary, options);
        var shared = new FastTextShared(
            options, vocabulary, input, output, offsets, rows,
            options.Loss == FastTextTrainingLoss.NegativeSampling ? new NegativeSampler(vocabulary.Counts, 0.5) : null,
            options.Loss == FastTextTrainingLoss.HierarchicalSoftmax ? new HuffmanTree(vocabulary.Counts) : null,
            Subsampling.Thresholds<FastTextKeep>(vocabulary.Counts, vocabulary.TotalCount, options.SamplingThreshold),
            vocabulary.TryGetId(EndOfLine, out int eos) ? eos : -1);

        var run = new TrainingRun("fasttext", options.Threads, options.Epoch, vocabulary.TotalCount,
            new LinearDecay(options.LearningRate, 0), options.Progress, options.ProgressInterval, cancellationToken,
            options.Threads > 1 && corpus.IsSeekable());
        var workerRandom = new SeededRandom[options.Threads];
        for (int t = 0; t < workerRandom.Length; t++)
            workerRandom[t] = random.Fork();
        var epochsDone = new int[options.Threads];
        try
        {
            run.RunWorkers(t => epochsDone[t] = new FastTextWorker(shared, run, workerRandom[t]).Run(corpus));
        }
        catch
        {
            input.Dispose();
            output.Dispose();
            throw;
        }
        return new FastTextTrainedModel(options, vocabulary, vocabulary.TotalCount, input, output, run.Summary(epochsDone.Min()));
    }

    /// <summary>fastText's keep probability <c>min(1, √(t/f) + t/f)</c> for a word of frequency <c>f = count/total</c>.</summary>
    public static double KeepProbability(long count, long totalWords, double threshold) => FastTextKeep.Probability(count, totalWords, threshold);

    private static (int[] Offsets, int[] Rows) SubwordRows(Vocabulary vocabulary, FastTextOptions options)
    {
        int n = vocabulary.Count;
        var offsets = new int[n + 1];
        var rows = new List<int>(n * (options.Maxn > 0 ? 16 : 1));
        var hasher = options.Maxn > 0 ? new SubwordHasher(options.Minn, options.Maxn, options.EffectiveBucket) : null;
        for (int i = 0; i < n; i++)
        {
            if (hasher is null)
                rows.Add(i);
            else
                hasher.GetSubwordRows(vocabulary.GetToken(i), n, i, rows);
            offsets[i + 1] = rows.Count;
        }
        return (offsets, [.. rows]);
    }
}

internal sealed record FastTextShared(
    FastTextOptions Options,
    Vocabulary Vocabulary,
    EmbeddingTable Input,
    EmbeddingTable Output,
    int[] SubwordOffsets,
    int[] SubwordRows,
    NegativeSampler? Sampler,
    HuffmanTree? Tree,
    uint[] Keep,
    int EndOfLineId);
