using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Optimizers;
using EmbedSharp.Training.Common;
using EmbedSharp.Training.Word2Vec;

namespace EmbedSharp.Training.Tests.Word2Vec;

public class Word2VecTests
{
    private static Word2VecOptions Small => new() { Dims = 16, Window = 3, MinCount = 1, Epochs = 6, Sample = 0, Negative = 5 };

    [Theory]
    [InlineData(Word2VecArchitecture.SkipGram, false, 5)]
    [InlineData(Word2VecArchitecture.SkipGram, true, 0)]
    [InlineData(Word2VecArchitecture.Cbow, false, 5)]
    [InlineData(Word2VecArchitecture.Cbow, true, 3)]
    public void LossDecreasesAndTopicsSeparate(Word2VecArchitecture arch, bool hs, int negative)
    {
        var options = Small with { Architecture = arch, HierarchicalSoftmax = hs, Negative = negative };
        using var result = Word2VecTrainer.Train(TinyCorpus.Corpus(), options);
        var losses = result.Summary.EpochLosses;
        Assert.Equal(options.Epochs, losses.Count);
        Assert.True(losses[^1] < losses[0] * 0.95, $"loss {string.Join(", ", losses)}");
        Assert.True(TinyCorpus.AllFinite(result.Vectors));
        Assert.Equal(32, result.Vocabulary.Count);
        double sep = TinyCorpus.TopicSeparation(result.GetVector);
        Assert.True(sep > 0.2, $"topic separation {sep}");
        Assert.False(result.Summary.Cancelled);
        Assert.Equal(options.Epochs, result.Summary.EpochsCompleted);
    }

    [Fact]
    public void CbowSumTrains()
    {
        using var result = Word2VecTrainer.Train(TinyCorpus.Corpus(), Small with { Architecture = Word2VecArchitecture.Cbow, CbowReduction = CbowReduction.Sum, LearningRate = 0.01 });
        Assert.True(result.Summary.EpochLosses[^1] < result.Summary.EpochLosses[0]);
        Assert.True(TinyCorpus.TopicSeparation(result.GetVector) > 0.2);
    }

    [Fact]
    public void OneThreadIsDeterministic()
    {
        var options = Small with { Sample = 1e-2, Epochs = 2 };
        using var a = Word2VecTrainer.Train(TinyCorpus.Corpus(), options);
        using var b = Word2VecTrainer.Train(TinyCorpus.Corpus(), options);
        Assert.Equal(a.Vectors.ToArray(), b.Vectors.ToArray());
        using var c = Word2VecTrainer.Train(TinyCorpus.Corpus(), options with { Seed = 2 });
        Assert.NotEqual(a.Vectors.ToArray(), c.Vectors.ToArray());
    }

    [Fact]
    public void SeveralThreadsTrainTheSameTables()
    {
        using var result = Word2VecTrainer.Train(TinyCorpus.Corpus(lines: 800), Small with { Threads = 3 });
        Assert.Equal(3, result.Summary.Threads);
        Assert.Equal(Small.Epochs * 8000L, result.Summary.Processed);
        Assert.True(TinyCorpus.AllFinite(result.Vectors));
        Assert.True(TinyCorpus.TopicSeparation(result.GetVector) > 0.2);
    }

    [Fact]
    public void ThreadsOverANonSeekableCorpusReadEveryLineOnce()
    {
        string text = TinyCorpus.Text(lines: 300);
        var corpus = TextCorpus.FromTextReader(() => new StringReader(text));
        using var result = Word2VecTrainer.Train(corpus, Small with { Threads = 2, Epochs = 2 });
        Assert.Equal(2 * 3000L, result.Summary.Processed);
        Assert.Equal(2, result.Summary.EpochsCompleted);
    }

    [Fact]
    public void CancellationReturnsAUsableTable()
    {
        using var cts = new CancellationTokenSource();
        var progress = new TinyCorpus.CancelOnFirstReport(cts);
        var options = Small with { Epochs = 50, ProgressInterval = 20_000, Progress = progress, KeepOutputVectors = true };
        using var result = Word2VecTrainer.Train(TinyCorpus.Corpus(), options, cts.Token);
        Assert.True(result.Summary.Cancelled);
        Assert.InRange(result.Summary.EpochsCompleted, 0, 10);
        Assert.True(result.Summary.Processed < 50 * 4000L);
        Assert.True(TinyCorpus.AllFinite(result.Vectors));
        Assert.NotNull(result.OutputVectors);
        Assert.NotNull(result.GetVector("cat"));
    }

    private sealed class Recorder : IProgress<TrainingProgress>
    {
        public List<TrainingProgress> Reports { get; } = [];

        public void Report(TrainingProgress value) => Reports.Add(value);
    }

    [Fact]
    public void ProgressIsReportedAndTheRateDecaysLinearly()
    {
        var recorder = new Recorder();
        using var result = Word2VecTrainer.Train(TinyCorpus.Corpus(), Small with { Epochs = 5, ProgressInterval = 2000, Progress = recorder, LearningRate = 0.02 });
        var reports = recorder.Reports;
        Assert.True(reports.Count >= 5);
        for (int i = 1; i < reports.Count; i++)
        {
            Assert.True(reports[i].Processed >= reports[i - 1].Processed);
            Assert.True(reports[i].LearningRate <= reports[i - 1].LearningRate);
        }
        Assert.Equal(1.0, reports[^1].Fraction);
        Assert.Equal(20_000, reports[^1].Processed);
        Assert.All(reports, r => Assert.Equal("word2vec", r.Trainer));
        // lr(p) = lr₀·max(1 − p, 1e-4): half-way the rate is half.
        Assert.Equal(0.01f, new LinearDecay(0.02).RateAt(10, 20), 6);
        Assert.Equal(0.02f * 1e-4f, new LinearDecay(0.02).RateAt(30, 20), 9);
    }

    [Fact]
    public void SubsamplingProbabilitiesFollowWord2Vec()
    {
        // f = count/total; keep = (√(f/t) + 1)·t/f, capped at 1.
        Assert.Equal((Math.Sqrt(0.1 / 1e-3) + 1) * 1e-3 / 0.1, Word2VecTrainer.KeepProbability(100, 1000, 1e-3), 12);
        Assert.Equal(1.0, Word2VecTrainer.KeepProbability(1, 1000, 1e-3));
        Assert.Equal(1.0, Word2VecTrainer.KeepProbability(900, 1000, 0));
        var thresholds = Word2VecTrainer.KeepThresholds([100, 1], 1000, 1e-3);
        Assert.Equal(uint.MaxValue, thresholds[1]);
        // Empirically the kept share matches the probability.
        var random = new SeededRandom(9);
        int kept = 0;
        for (int i = 0; i < 200_000; i++)
            if ((uint)(random.NextUInt64() >> 32) < thresholds[0])
                kept++;
        Assert.InRange(kept / 200_000.0, Word2VecTrainer.KeepProbability(100, 1000, 1e-3) - 0.005, Word2VecTrainer.KeepProbability(100, 1000, 1e-3) + 0.005);
    }

    [Fact]
    public void NaNLearningRateIsRejectedAndDivergenceStops()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Word2VecTrainer.Train(TinyCorpus.NeverOpened(), Small with { LearningRate = double.NaN }));
        // An absurd rate drives the vectors to infinity; training must stop rather than return NaN vectors.
        var e = Assert.Throws<NonFiniteException>(() => Word2VecTrainer.Train(TinyCorpus.Corpus(), Small with { LearningRate = 1e30, Epochs = 3 }));
        Assert.StartsWith("[word2vec.train]", e.Message);
    }

    [Fact]
    public void InvalidOptionsFailBeforeReading()
    {
        var bad = new Word2VecOptions[]
        {
            Small with { Dims = 0 }, Small with { Window = 0 }, Small with { Negative = 0, HierarchicalSoftmax = false },
            Small with { Negative = -1 }, Small with { Sample = -1 }, Small with { MinCount = 0 }, Small with { Epochs = 0 },
            Small with { Threads = 0 }, Small with { MaxSentenceLength = 0 }, Small with { Architecture = (Word2VecArchitecture)7 },
        };
        foreach (var o in bad)
        {
            var e = Assert.ThrowsAny<ArgumentException>(() => Word2VecTrainer.Train(TinyCorpus.NeverOpened(), o));
            Assert.StartsWith("[word2vec.train]", e.Message);
        }
        var empty = Assert.Throws<InvalidOperationException>(() => Word2VecTrainer.Train(TextCorpus.FromText("a b c"), Small with { MinCount = 5 }));
        Assert.Contains("MinCount", empty.Message);
    }

    [Fact]
    public void PhrasesAreDetectedAndJoined()
    {
        var lines = new List<string>();
        var random = new SeededRandom(4);
        string[] filler = ["the", "a", "city", "is", "big", "we", "went", "to", "saw", "and"];
        for (int i = 0; i < 300; i++)
        {
            var words = Enumerable.Range(0, 8).Select(_ => filler[random.NextInt(filler.Length)]).ToList();
            words.Insert(random.NextInt(words.Count), i % 2 == 0 ? "new york" : "los angeles");
            lines.Add(string.Join(' ', words));
        }
        var corpus = TextCorpus.FromLines(lines);
        var phrases = PhraseDetector.Detect(corpus, new PhraseOptions { MinCount = 5, Threshold = 10 });
        Assert.True(phrases.Contains("new", "york"));
        Assert.True(phrases.Contains("los", "angeles"));
        Assert.False(phrases.Contains("the", "city"));
        var joined = corpus.WithPhrases(phrases);
        var vocab = CorpusVocabulary.Build(joined, 1);
        Assert.Equal(150, vocab.GetCount(vocab.GetId("new_york")));
        Assert.False(vocab.Contains("york"));
        using var vectors = Word2VecTrainer.Train(joined, Small with { Epochs = 1 });
        Assert.NotNull(vectors.GetVector("los_angeles"));
        Assert.Throws<ArgumentException>(() => PhraseDetector.Detect(joined));
    }
}
