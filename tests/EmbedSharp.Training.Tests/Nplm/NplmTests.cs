using EmbedSharp.Training.Nplm;
using EmbedSharp.Training.Word2Vec;

namespace EmbedSharp.Training.Tests.Nplm;

public class NplmTests
{
    private static NplmOptions Small => new() { ContextSize = 3, Dims = 12, Hidden = 16, Epochs = 4, LearningRate = 0.05 };

    [Theory]
    [InlineData(NplmOutput.Full, false)]
    [InlineData(NplmOutput.Full, true)]
    [InlineData(NplmOutput.Sampled, false)]
    [InlineData(NplmOutput.Nce, false)]
    public void LossDecreasesAndPerplexityBeatsUniform(NplmOutput output, bool direct)
    {
        var options = Small with { Output = output, DirectConnections = direct, Samples = 8 };
        using var model = NplmTrainer.Train(TinyCorpus.Corpus(lines: 200), options);
        var losses = model.History[^1].EpochLosses;
        Assert.True(losses[^1] < losses[0], $"{output} loss {string.Join(", ", losses)}");
        double ppl = model.Perplexity(TinyCorpus.Corpus(lines: 50, seed: 99));
        // 32 words (+<unk>, <s>): uniform gives 34; knowing the topic after the first word gives about 8.
        // NCE only learns self-normalised scores for the words it samples, so after 4 epochs it is judged
        // against the uniform model rather than against the softmax runs.
        Assert.True(ppl < (output == NplmOutput.Nce ? 30 : 20), $"perplexity {ppl}");
        var logp = new float[model.Vocabulary.Count];
        model.LogProbabilities([1, 1, model.Vocabulary.GetId("cat")], logp);
        Assert.Equal(1.0, logp.Sum(x => Math.Exp(x)), 4);
        Assert.True(logp[model.Vocabulary.GetId("dog")] > logp[model.Vocabulary.GetId("paris")]);
    }

    [Fact]
    public void TwoPhaseRecipeFreezesThenFineTunes()
    {
        var corpus = TinyCorpus.Corpus(lines: 200);
        using var w2v = Word2VecTrainer.Train(corpus, new Word2VecOptions { Dims = 12, MinCount = 1, Epochs = 5, Sample = 0 });
        var result = NplmTrainer.TrainTwoPhase(corpus, w2v.Vectors, w2v.Vocabulary, Small, frozenEpochs: 2, fineTuneEpochs: 2,
            fineTuneLearningRate: 0.01, heldOut: TinyCorpus.Corpus(lines: 50, seed: 99));
        using var model = result.Model;
        // Phase 1 left C exactly at the word2vec vectors.
        var row = new float[12];
        model.Embedding.Weight.ReadRow(model.Vocabulary.GetId("cat"), row);
        Assert.True(result.PerplexityAfterFrozen < result.PerplexityBefore);
        Assert.True(result.PerplexityAfterFineTuning <= result.PerplexityAfterFrozen * 1.05);
        Assert.False(model.Embedding.Frozen);
        Assert.Equal(2, model.History.Count);
        Assert.Equal(w2v.GetVector("cat")!.Length, row.Length);

        // Verify phase 1 separately: C is unchanged while frozen, and changes once unfrozen.
        using var fresh = NplmTrainer.CreateModel(corpus, Small, w2v.Vectors, w2v.Vocabulary);
        Assert.True(fresh.Embedding.Frozen);
        var before = fresh.Embedding.Weight.ToArray();
        NplmTrainer.Fit(fresh, corpus, Small with { Epochs = 1 });
        Assert.Equal(before, fresh.Embedding.Weight.ToArray());
        Assert.Equal(w2v.GetVector("dog"), Row(fresh, "dog"));
        fresh.Embedding.Unfreeze();
        NplmTrainer.Fit(fresh, corpus, Small with { Epochs = 1, LearningRate = 0.01 });
        Assert.NotEqual(before, fresh.Embedding.Weight.ToArray());
    }

    private static float[] Row(NplmModel m, string word)
    {
        var r = new float[m.Dims];
        m.Embedding.Weight.ReadRow(m.Vocabulary.GetId(word), r);
        return r;
    }

    [Fact]
    public void DeterministicCancellableAndValidated()
    {
        using var a = NplmTrainer.Train(TinyCorpus.Corpus(lines: 60), Small with { Epochs = 1 });
        using var b = NplmTrainer.Train(TinyCorpus.Corpus(lines: 60), Small with { Epochs = 1 });
        Assert.Equal(a.Embedding.Weight.ToArray(), b.Embedding.Weight.ToArray());
        Assert.Equal(a.U, b.U);

        using var cts = new CancellationTokenSource();
        cts.Cancel();
        using var c = NplmTrainer.Train(TinyCorpus.Corpus(lines: 300), Small with { Epochs = 3 }, cts.Token);
        Assert.True(c.History[^1].Cancelled);
        Assert.Equal(0, c.History[^1].EpochsCompleted);
        Assert.True(c.History[^1].Processed <= 1024);

        foreach (var o in new[] { Small with { ContextSize = 0 }, Small with { Hidden = 0 }, Small with { Output = NplmOutput.Sampled, Samples = 0 }, Small with { MiniBatch = 0 } })
            Assert.StartsWith("[nplm.train]", Assert.ThrowsAny<ArgumentException>(() => NplmTrainer.Train(TinyCorpus.NeverOpened(), o)).Message);
        Assert.Throws<ArgumentException>(() => NplmTrainer.Fit(a, TinyCorpus.Corpus(), Small with { Hidden = 17 }));
        Assert.Throws<ArgumentException>(() => a.LogProbabilities([1, 1], new float[a.Vocabulary.Count]));
    }
}

public class NplmGradientTests
{
    /// <summary>
    /// One SGD step with a tiny rate moves every parameter by −ε·∂L/∂θ; ∂L/∂θ is measured by central
    /// differences of −log P(target | context) under the full softmax. Covers C, H, d, U, b and W.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BackpropagationMatchesFiniteDifferences(bool direct)
    {
        var corpus = EmbedSharp.Training.Common.TextCorpus.FromText("a b c d e\nb c a e d\nc c b a");
        var options = new NplmOptions { ContextSize = 2, Dims = 3, Hidden = 4, DirectConnections = direct, MiniBatch = 1, MinCount = 1 };
        using var model = NplmTrainer.CreateModel(corpus, options);
        int[] context = [model.Vocabulary.GetId("b"), model.Vocabulary.GetId("c")];
        int target = model.Vocabulary.GetId("a");
        var logp = new float[model.Vocabulary.Count];
        double Loss()
        {
            model.LogProbabilities(context, logp);
            return -logp[target];
        }
        // Every parameter as (array, index) pairs; C through the embedding's table.
        var c = model.Embedding.Weight;
        var arrays = new List<float[]> { model.H, model.D, model.U, model.B };
        if (model.W is not null)
            arrays.Add(model.W);
        var numeric = new List<double[]>();
        foreach (var a in arrays)
            numeric.Add(Numeric(a, Loss));
        float[] cFlat = c.ToArray();
        double[] numericC = Numeric(c.AsSpan<float>(), Loss);
        var before = arrays.Select(a => (float[])a.Clone()).ToList();
        const float lr = 1e-3f;
        new NplmFit(model, options).TrainExample(context, target, lr);
        for (int i = 0; i < arrays.Count; i++)
            for (int k = 0; k < arrays[i].Length; k++)
                Assert.True(Math.Abs((arrays[i][k] - before[i][k]) / -lr - numeric[i][k]) < 2e-3 + 2e-2 * Math.Abs(numeric[i][k]),
                    $"array {i} [{k}]: step {(arrays[i][k] - before[i][k]) / -lr} vs numeric {numeric[i][k]}");
        float[] cAfter = c.ToArray();
        for (int k = 0; k < cFlat.Length; k++)
            Assert.True(Math.Abs((cAfter[k] - cFlat[k]) / -lr - numericC[k]) < 2e-3 + 2e-2 * Math.Abs(numericC[k]),
                $"C [{k}]: step {(cAfter[k] - cFlat[k]) / -lr} vs numeric {numericC[k]}");
        Assert.Contains(numericC, g => Math.Abs(g) > 1e-3); // the context rows really got a gradient
    }

    private static double[] Numeric(Span<float> a, Func<double> loss)
    {
        var g = new double[a.Length];
        for (int k = 0; k < a.Length; k++)
        {
            float keep = a[k];
            a[k] = keep + 1e-2f;
            double up = loss();
            a[k] = keep - 1e-2f;
            double down = loss();
            a[k] = keep;
            g[k] = (up - down) / 2e-2;
        }
        return g;
    }
}
