using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;
using EmbedSharp.Training.Common;
using EmbedSharp.Training.Losses;
using EmbedSharp.Vocabularies;

namespace EmbedSharp.Training.Word2Vec;

/// <summary>
/// word2vec (Mikolov et al. 2013): skip-gram or CBOW, negative sampling and/or hierarchical softmax,
/// frequent-word sub-sampling, a dynamic window and a linearly decaying learning rate, trained by
/// several threads over chunks of a streamed corpus without locks (Hogwild).
/// </summary>
/// <remarks>
/// <para>Skip-gram maximises, for each centre word w and context word c within the window,
/// <c>log σ(v_c·u_w) + Σ_{k} log σ(−v_c·u_{n_k})</c> with n_k drawn from <c>count^0.75</c>; CBOW does the same
/// with <c>v_c</c> replaced by the mean (or sum) of the context vectors. v are the returned vectors
/// (<c>syn0</c>), u the output vectors (<c>syn1neg</c>, or the Huffman tree's inner nodes <c>syn1</c>).</para>
/// <para>Conventions follow word2vec.c: input vectors start uniform in <c>[−0.5/Dims, 0.5/Dims)</c>, output
/// vectors at zero; σ is tabulated on [−6, 6]; in CBOW-mean the error is added to every context row
/// undivided (as word2vec.c and gensim do); the rate is <c>lr₀·max(1 − p, MinLearningRateFactor)</c> with p
/// the share of all epochs' words processed, updated every 10 000 words per thread.</para>
/// <para>One thread and a fixed seed give bit-identical results. With several threads the result depends
/// on scheduling, as in every Hogwild trainer. Cancelling stops the workers within 10 000 words each and
/// returns the vectors as they are (<see cref="TrainingSummary.Cancelled"/> is set). A non-finite loss
/// stops training with <see cref="Diagnostics.NonFiniteException"/>.</para>
/// </remarks>
public static class Word2VecTrainer
{
    /// <summary>Builds the vocabulary from <paramref name="corpus"/> and trains.</summary>
    /// <exception cref="ArgumentException">An option is out of range (checked before anything is read).</exception>
    /// <exception cref="InvalidOperationException">No word reaches <c>MinCount</c>.</exception>
    public static WordVectors Train(TextCorpus corpus, Word2VecOptions? options = null, CancellationToken cancellationToken = default)
    {
        const string op = "word2vec.train";
        Guard.NotNull(op, corpus);
        options ??= new Word2VecOptions();
        options.Validate();
        var vocabulary = CorpusVocabulary.Build(corpus, options.MinCount, cancellationToken: cancellationToken);
        return Train(corpus, vocabulary, options, cancellationToken);
    }

    /// <summary>Trains over <paramref name="corpus"/> with a given vocabulary (tokens outside it are skipped).</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    /// <exception cref="InvalidOperationException">The vocabulary is empty or its counts are all zero.</exception>
    public static WordVectors Train(TextCorpus corpus, Vocabulary vocabulary, Word2VecOptions? options = null, CancellationToken cancellationToken = default)
    {
        const string op = "word2vec.train";
        Guard.NotNull(op, corpus);
        Guard.NotNull(op, vocabulary);
        options ??= new Word2VecOptions();
        options.Validate();
        if (vocabulary.Count == 0 || vocabulary.TotalCount == 0)
            ThrowHelper.InvalidOperation(op, $"the vocabulary is empty (no word occurs MinCount = {options.MinCount} times or more); lower MinCount or use a larger corpus");

        int v = vocabulary.Count, dims = options.Dims;
        var random = new SeededRandom(options.Seed);
        var input = new EmbeddingTable(v, dims);
        TableRows.InitializeUniform(input, random, 0.5f / dims);
        EmbeddingTable? outputNeg = options.Negative > 0 ? new EmbeddingTable(v, dims) : null;
        HuffmanTree? tree = options.HierarchicalSoftmax ? new HuffmanTree(vocabulary.Counts) : null;
        EmbeddingTable? outputHs = tree is not null ? new EmbeddingTable(Math.Max(1, tree.NumInnerNodes), dims) : null;
        var sampler = options.Negative > 0 ? new NegativeSampler(vocabulary.Counts, options.NegativePower) : null;
        uint[] keep = KeepThresholds(vocabulary.Counts, vocabulary.TotalCount, options.Sample);

        var run = new TrainingRun("word2vec", options.Threads, options.Epochs, vocabulary.TotalCount,
            new LinearDecay(options.EffectiveLearningRate, options.MinLearningRateFactor), options.Progress, options.ProgressInterval, cancellationToken,
            options.Threads > 1 && corpus.IsSeekable());
        var workerRandom = new SeededRandom[options.Threads];
        for (int t = 0; t < workerRandom.Length; t++)
            workerRandom[t] = random.Fork();
        var epochsDone = new int[options.Threads];
        try
        {
            run.RunWorkers(t =>
            {
                var worker = new Word2VecWorker(options, vocabulary, input, outputNeg, outputHs, tree, sampler, keep, run, workerRandom[t]);
                epochsDone[t] = worker.Run(corpus);
            });
        }
        catch
        {
            input.Dispose();
            outputNeg?.Dispose();
            outputHs?.Dispose();
            throw;
        }
        var summary = run.Summary(epochsDone.Min());
        EmbeddingTable? kept = null;
        if (options.KeepOutputVectors)
        {
            kept = outputNeg ?? outputHs;
            if (kept == outputNeg)
                outputHs?.Dispose();
        }
        else
        {
            outputNeg?.Dispose();
            outputHs?.Dispose();
        }
        return new WordVectors(vocabulary, input, kept, summary);
    }

    /// <summary>
    /// word2vec's probability of keeping one occurrence of a word with count <paramref name="count"/> in a
    /// corpus of <paramref name="totalWords"/> words: <c>min(1, (√(f/t) + 1)·t/f)</c> with <c>f = count/total</c>
    /// and <c>t = sample</c>; 1 when <paramref name="sample"/> is 0.
    /// </summary>
    public static double KeepProbability(long count, long totalWords, double sample) => Word2VecKeep.Probability(count, totalWords, sample);

    /// <summary>The workers' keep thresholds for word2vec's probability (<see cref="Subsampling"/>).</summary>
    internal static uint[] KeepThresholds(ReadOnlySpan<long> counts, long total, double sample) => Subsampling.Thresholds<Word2VecKeep>(counts, total, sample);
}
