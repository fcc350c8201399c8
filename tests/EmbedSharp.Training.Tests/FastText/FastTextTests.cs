using EmbedSharp.Training.Common;
using EmbedSharp.Training.FastText;
using EmbedSharp.Vocabularies;

namespace EmbedSharp.Training.Tests.FastText;

public class FastTextTests
{
    private static FastTextOptions Small => new() { Dims = 16, WindowSize = 3, MinCount = 1, Epoch = 5, Bucket = 2000, Minn = 2, Maxn = 4, SamplingThreshold = 0 };

    [Theory]
    [InlineData(FastTextTrainingModel.Skipgram, FastTextTrainingLoss.NegativeSampling)]
    [InlineData(FastTextTrainingModel.Cbow, FastTextTrainingLoss.NegativeSampling)]
    [InlineData(FastTextTrainingModel.Skipgram, FastTextTrainingLoss.HierarchicalSoftmax)]
    [InlineData(FastTextTrainingModel.Skipgram, FastTextTrainingLoss.Softmax)]
    public void LossDecreasesAndTopicsSeparate(FastTextTrainingModel model, FastTextTrainingLoss loss)
    {
        var options = Small with { Model = model, Loss = loss };
        using var m = FastTextTrainer.Train(TinyCorpus.Corpus(), options);
        var losses = m.Summary.EpochLosses;
        Assert.True(losses[^1] < losses[0] * 0.95, $"loss {string.Join(", ", losses)}");
        Assert.True(TinyCorpus.AllFinite(m.Input));
        Assert.True(TinyCorpus.TopicSeparation(w => { var v = new float[16]; m.GetWordVector(w, v); return v; }) > 0.15);
    }

    [Fact]
    public void ModelIsPlainFastTextData()
    {
        using var m = FastTextTrainer.Train(TinyCorpus.Corpus(), Small);
        Assert.Contains(FastTextTrainer.EndOfLine, m.Words);
        Assert.Equal(400, m.Counts[m.Vocabulary.GetId(FastTextTrainer.EndOfLine)]);
        Assert.Equal(m.Words.Count + 2000, m.Input.NumEmbeddings);
        Assert.Equal(m.Words.Count, m.Output.NumEmbeddings);
        Assert.Equal(4400, m.NumTokens);
        Assert.Equal(2000, m.Args.EffectiveBucket);
        // A word's rows are its own row then its n-grams, as SubwordHasher gives them; </s> has no n-grams.
        int cat = m.Vocabulary.GetId("cat");
        var expected = new List<int>();
        new SubwordHasher(2, 4, 2000).GetSubwordRows("cat", m.Words.Count, cat, expected);
        Assert.Equal(expected, m.GetSubwordRows("cat"));
        Assert.Equal([m.Vocabulary.GetId("</s>")], m.GetSubwordRows("</s>"));
        // The word vector is the mean of those rows; an unseen word still gets one from its n-grams.
        var v = new float[16];
        m.GetWordVector("cat", v);
        var mean = new float[16];
        var row = new float[16];
        foreach (int r in expected)
        {
            m.Input.ReadRow(r, row);
            for (int i = 0; i < 16; i++)
                mean[i] += row[i] / expected.Count;
        }
        for (int i = 0; i < 16; i++)
            Assert.Equal(mean[i], v[i], 5);
        var oov = new float[16];
        m.GetWordVector("cats", oov);
        Assert.Contains(oov, x => x != 0);
        using var words = m.GetWordVectors();
        var fromTable = new float[16];
        words.ReadRow(cat, fromTable);
        Assert.Equal(v, fromTable);
    }

    [Fact]
    public void WithoutNgramsTheBucketIsZero()
    {
        using var m = FastTextTrainer.Train(TinyCorpus.Corpus(), Small with { Maxn = 0, Bucket = 2_000_000 });
        Assert.Equal(0, m.Args.EffectiveBucket);
        Assert.Equal(m.Words.Count, m.Input.NumEmbeddings);
        var oov = new float[16];
        m.GetWordVector("unseen", oov);
        Assert.All(oov, x => Assert.Equal(0f, x));
    }

    [Fact]
    public void OneThreadIsDeterministicAndCancellationIsClean()
    {
        using var a = FastTextTrainer.Train(TinyCorpus.Corpus(), Small with { Epoch = 2, SamplingThreshold = 1e-2 });
        using var b = FastTextTrainer.Train(TinyCorpus.Corpus(), Small with { Epoch = 2, SamplingThreshold = 1e-2 });
        Assert.Equal(a.Input.ToArray(), b.Input.ToArray());
        Assert.Equal(a.Output.ToArray(), b.Output.ToArray());

        using var cts = new CancellationTokenSource();
        using var c = FastTextTrainer.Train(TinyCorpus.Corpus(), Small with { Epoch = 100, ProgressInterval = 15_000, Progress = new TinyCorpus.CancelOnFirstReport(cts) }, cts.Token);
        Assert.True(c.Summary.Cancelled);
        Assert.True(c.Summary.EpochsCompleted < 100);
        Assert.True(TinyCorpus.AllFinite(c.Input));
    }

    [Fact]
    public void KeepProbabilityIsFastTexts()
    {
        Assert.Equal(Math.Sqrt(1e-4 / 0.1) + 1e-4 / 0.1, FastTextTrainer.KeepProbability(100, 1000, 1e-4), 12);
        Assert.Equal(1.0, FastTextTrainer.KeepProbability(1, 1_000_000, 1e-4));
    }

    [Fact]
    public void InvalidOptionsFailBeforeReading()
    {
        foreach (var o in new[] { Small with { Dims = 0 }, Small with { Minn = 5, Maxn = 3 }, Small with { Bucket = 0 }, Small with { Neg = 0 },
                     Small with { LrUpdateRate = 0 }, Small with { Loss = (FastTextTrainingLoss)9 }, Small with { LearningRate = 0 } })
            Assert.StartsWith("[fasttext.train]", Assert.ThrowsAny<ArgumentException>(() => FastTextTrainer.Train(TinyCorpus.NeverOpened(), o)).Message);
    }
}
