using System.Diagnostics;
using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Optimizers;
using EmbedSharp.Tables;
using EmbedSharp.Training.Common;
using EmbedSharp.Training.Losses;
using EmbedSharp.Vocabularies;

namespace EmbedSharp.Training.Nplm;

/// <summary>The outcome of <see cref="NplmTrainer.TrainTwoPhase"/>.</summary>
/// <param name="Model">The trained model (C unfrozen at the end).</param>
/// <param name="Frozen">Phase 1: C frozen at the pre-trained vectors, the rest of the network trained.</param>
/// <param name="FineTuned">Phase 2: everything trained, at the lower learning rate.</param>
/// <param name="PerplexityBefore">Held-out perplexity of the untrained network on the pre-trained C (NaN without held-out text).</param>
/// <param name="PerplexityAfterFrozen">Held-out perplexity after phase 1 (NaN without held-out text).</param>
/// <param name="PerplexityAfterFineTuning">Held-out perplexity after phase 2 (NaN without held-out text).</param>
public sealed record NplmTwoPhaseResult(
    NplmModel Model,
    TrainingSummary Frozen,
    TrainingSummary FineTuned,
    double PerplexityBefore,
    double PerplexityAfterFrozen,
    double PerplexityAfterFineTuning);

/// <summary>
/// Trains <see cref="NplmModel"/> by stochastic gradient descent on <c>−log P(w_t | context)</c>, jointly for
/// C, H, d, U, b and W (Bengio et al. 2003), with a full softmax, sampled softmax or NCE output.
/// </summary>
/// <remarks>
/// Single-threaded and deterministic for a fixed seed. The dense parameters are updated after every
/// example; C's gradient is summed over <see cref="NplmOptions.MiniBatch"/> examples and applied as one
/// sparse SGD step through <see cref="Embedding.Backward(ReadOnlySpan{int}, ReadOnlySpan{float})"/>, and not
/// at all while C is frozen. <see cref="TrainingSummary.EpochLosses"/> holds the mean training loss per example
/// (cross-entropy for Full and Sampled, the logistic NCE loss for Nce). Cancelling returns after the current
/// example with the model usable; a non-finite loss throws <see cref="NonFiniteException"/>.
/// </remarks>
public static class NplmTrainer
{
    /// <summary>Builds the vocabulary and a fresh model, then trains it.</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public static NplmModel Train(TextCorpus corpus, NplmOptions? options = null, CancellationToken cancellationToken = default)
    {
        Guard.NotNull("nplm.train", corpus);
        options ??= new NplmOptions();
        options.Validate();
        var model = CreateModel(corpus, options, null, null, cancellationToken);
        Fit(model, corpus, options, cancellationToken);
        return model;
    }

    /// <summary>
    /// Builds the vocabulary of <paramref name="corpus"/> and an untrained model. When <paramref name="pretrained"/>
    /// is given, C starts from its rows (matched by token through <paramref name="pretrainedVocabulary"/>; words it
    /// lacks start random) and is frozen; otherwise C starts uniform in <c>±1/√m</c> and is trainable.
    /// </summary>
    /// <exception cref="ArgumentException">The pre-trained table's width differs from <c>options.Dims</c>, or its vocabulary's size from its rows.</exception>
    public static NplmModel CreateModel(TextCorpus corpus, NplmOptions options, EmbeddingTable? pretrained = null, Vocabulary? pretrainedVocabulary = null, CancellationToken cancellationToken = default)
    {
        const string op = "nplm.create";
        Guard.NotNull(op, corpus);
        Guard.NotNull(op, options);
        options.Validate();
        if (pretrained is not null)
        {
            Guard.NotNull(op, pretrainedVocabulary);
            if (pretrained.Dims != options.Dims)
                ThrowHelper.Argument(op, nameof(pretrained), $"the pre-trained table has {pretrained.Dims} columns but options.Dims is {options.Dims}; they must match");
            if (pretrained.NumEmbeddings != pretrainedVocabulary!.Count)
                ThrowHelper.Argument(op, nameof(pretrainedVocabulary), $"the pre-trained vocabulary has {pretrainedVocabulary.Count} tokens but the table {pretrained.NumEmbeddings} rows");
        }
        var vocabulary = BuildVocabulary(corpus, options.MinCount, cancellationToken);
        var random = new SeededRandom(options.Seed);
        int v = vocabulary.Count, m = options.Dims;
        var weights = new float[(long)v * m];
        float half = 1 / MathF.Sqrt(m);
        for (long i = 0; i < weights.Length; i++)
            weights[i] = (random.NextSingle() * 2 - 1) * half;
        if (pretrained is not null)
        {
            for (int id = 0; id < v; id++)
                if (pretrainedVocabulary!.TryGetId(vocabulary.GetToken(id), out int row))
                    pretrained.ReadRow(row, weights.AsSpan(id * m, m));
        }
        var embedding = Embedding.FromPretrained(weights, v, m, freeze: pretrained is not null);
        return new NplmModel(vocabulary, embedding, options, random);
    }

    /// <summary>
    /// The article's two-phase recipe: train the network for <paramref name="frozenEpochs"/> with C frozen at
    /// the pre-trained vectors (<see cref="Embedding.Freeze"/>), then <see cref="Embedding.Unfreeze"/> it and train
    /// everything for <paramref name="fineTuneEpochs"/> at <paramref name="fineTuneLearningRate"/>.
    /// </summary>
    /// <exception cref="ArgumentException">An option is out of range or the pre-trained table does not fit.</exception>
    public static NplmTwoPhaseResult TrainTwoPhase(TextCorpus corpus, EmbeddingTable pretrained, Vocabulary pretrainedVocabulary, NplmOptions options,
        int frozenEpochs, int fineTuneEpochs, double fineTuneLearningRate, TextCorpus? heldOut = null, CancellationToken cancellationToken = default)
    {
        const string op = "nplm.two_phase";
        Guard.NotNull(op, pretrained);
        Guard.NotNull(op, options);
        Guard.NonNegative(op, frozenEpochs);
        Guard.NonNegative(op, fineTuneEpochs);
        Guard.PositiveFinite(op, fineTuneLearningRate);
        var model = CreateModel(corpus, options, pretrained, pretrainedVocabulary, cancellationToken);
        double p0 = heldOut is null ? double.NaN : model.Perplexity(heldOut, cancellationToken);
        model.Embedding.Freeze();
        var frozen = Fit(model, corpus, options with { Epochs = frozenEpochs }, cancellationToken);
        double p1 = heldOut is null ? double.NaN : model.Perplexity(heldOut, cancellationToken);
        model.Embedding.Unfreeze();
        var tuned = Fit(model, corpus, options with { Epochs = fineTuneEpochs, LearningRate = fineTuneLearningRate }, cancellationToken);
        double p2 = heldOut is null ? double.NaN : model.Perplexity(heldOut, cancellationToken);
        return new NplmTwoPhaseResult(model, frozen, tuned, p0, p1, p2);
    }

    /// <summary>
    /// Trains an existing model for <c>options.Epochs</c> more epochs (the architecture options must match the
    /// model; the training options — rate, output layer, samples, batch, seed — are taken from <paramref name="options"/>).
    /// C is updated only while <c>model.Embedding.Frozen</c> is false.
    /// </summary>
    /// <exception cref="ArgumentException">The options' ContextSize, Dims, Hidden or DirectConnections differ from the model's.</exception>
    public static TrainingSummary Fit(NplmModel model, TextCorpus corpus, NplmOptions options, CancellationToken cancellationToken = default)
    {
        const string op = "nplm.train";
        Guard.NotNull(op, model);
        Guard.NotNull(op, corpus);
        Guard.NotNull(op, options);
        options.Validate();
        if (options.ContextSize != model.ContextSize || options.Dims != model.Dims || options.Hidden != model.Hidden || options.DirectConnections != model.DirectConnections)
            ThrowHelper.Argument(op, nameof(options), $"the options describe a different network (ContextSize {options.ContextSize}, Dims {options.Dims}, Hidden {options.Hidden}, DirectConnections {options.DirectConnections}) than the model's ({model.ContextSize}, {model.Dims}, {model.Hidden}, {model.DirectConnections})");
        var summary = new NplmFit(model, options).Run(corpus, cancellationToken);
        model.AddHistory(summary);
        return summary;
    }

    private static Vocabulary BuildVocabulary(TextCorpus corpus, long minCount, CancellationToken cancellationToken)
    {
        var counts = CorpusVocabulary.Count(corpus, null, cancellationToken);
        var kept = counts.Where(c => c.Count >= minCount && c.Token != NplmModel.UnknownToken && c.Token != NplmModel.StartToken)
            .OrderByDescending(c => c.Count).ToList(); // stable: ties keep first occurrence
        long unknown = counts.Where(c => c.Count < minCount || c.Token == NplmModel.UnknownToken).Sum(c => c.Count);
        var tokens = new List<string> { NplmModel.UnknownToken, NplmModel.StartToken };
        var values = new List<long> { unknown, 0 };
        foreach (var (token, count) in kept)
        {
            tokens.Add(token);
            values.Add(count);
        }
        return Vocabulary.FromTokens(tokens, values.ToArray(), new VocabularyOptions
        {
            SpecialTokens = [NplmModel.UnknownToken, NplmModel.StartToken],
            UnknownToken = NplmModel.UnknownToken,
        });
    }
}
