using EmbedSharp.Training.Common;
using EmbedSharp.Training.Glove;

namespace EmbedSharp.Training.Tests.Glove;

public class GloveTests
{
    private static GloveOptions Small => new() { Dims = 16, Window = 4, MinCount = 1, Epochs = 15, LearningRate = 0.05 };

    private static Dictionary<(int, int), float> Records(TextCorpus corpus, GloveOptions options, out int shards)
    {
        var vocab = CorpusVocabulary.Build(corpus, 1);
        using var counter = new CooccurrenceCounter(vocab.Count, options);
        counter.Count(corpus, vocab, default);
        shards = counter.ShardsSpilled;
        var result = new Dictionary<(int, int), float>();
        (int, int) previous = (-1, -1);
        foreach (var r in counter.Merge())
        {
            Assert.True((r.I, r.J).CompareTo(previous) > 0, "records must come out in (i, j) order, each pair once");
            previous = (r.I, r.J);
            result.Add((r.I, r.J), r.X);
        }
        return result;
    }

    [Fact]
    public void CountsUseInverseDistanceAndBothDirections()
    {
        var corpus = TextCorpus.FromText("a b c\nc a");
        var vocab = CorpusVocabulary.Build(corpus, 1); // a, c (2 each), then b
        var records = Records(corpus, Small with { Window = 2 }, out _);
        int a = vocab.GetId("a"), b = vocab.GetId("b"), c = vocab.GetId("c");
        Assert.Equal(1f, records[(a, b)]);
        Assert.Equal(1f, records[(b, a)]);
        Assert.Equal(0.5f + 1f, records[(a, c)]); // "a _ c" at distance 2, then "c a" at distance 1
        Assert.Equal(1.5f, records[(c, a)]);
        Assert.Equal(1f, records[(b, c)]);
        Assert.False(records.ContainsKey((a, a)));
    }

    private static TextCorpus Wide() =>
        TextCorpus.FromText(string.Join('\n', Enumerable.Range(0, 20000).Select(i => $"w{i % 3000} w{(i * 7) % 3000} w{(i * 13) % 3000}")));

    [Fact]
    public void SpilledShardsMergeToTheSameCounts()
    {
        // 3000 words: a 1 MiB budget keeps a 256-word dense block and a 16 384-entry map, so most pairs spill.
        var wide = Wide();
        var inMemory = Records(wide, Small with { MemoryBudgetBytes = 256L << 20 }, out int none);
        Assert.Equal(0, none);
        var streams = new Dictionary<int, MemoryStream>();
        var deleted = new List<int>();
        var spilling = Small with
        {
            MemoryBudgetBytes = 1 << 20,
            CreateShard = i => streams[i] = new MemoryStream(),
            OpenShard = i => new MemoryStream(streams[i].ToArray()),
            DeleteShard = deleted.Add,
        };
        var merged = Records(wide, spilling, out int shards);
        Assert.True(shards >= 2, $"expected several shards, got {shards}");
        Assert.Equal(inMemory.Count, merged.Count);
        foreach (var (key, x) in inMemory)
            Assert.Equal(x, merged[key], 4);
        Assert.Equal(Enumerable.Range(0, shards), deleted);
    }

    [Fact]
    public void TrainingFromSpilledRecordsWorks()
    {
        // A budget too small for the merged records: they go to one more shard and are trained in chunks.
        var streams = new Dictionary<int, MemoryStream>();
        var options = Small with
        {
            Epochs = 2,
            MinCount = 1,
            MemoryBudgetBytes = 1 << 20,
            CreateShard = i => streams[i] = new MemoryStream(),
            OpenShard = i => new MemoryStream(streams[i].ToArray()),
        };
        var corpus = TextCorpus.FromText(string.Join('\n', Enumerable.Range(0, 30000).Select(i =>
            string.Join(' ', Enumerable.Range(0, 5).Select(k => "w" + (i * (k + 3) + k * 977) % 5000)))));
        using var result = GloveTrainer.Train(corpus, options);
        long records = result.Summary.Processed / 2;
        Assert.True(records > (1 << 20) / 12, $"{records} records fit one chunk; the test needs more than one");
        Assert.Contains(streams, kv => kv.Value.ToArray().Length == records * 12); // the merged shard
        Assert.True(TinyCorpus.AllFinite(result.Vectors));
        Assert.True(result.Summary.EpochLosses[1] < result.Summary.EpochLosses[0]);
    }

    [Fact]
    public void LossDecreasesAndTopicsSeparate()
    {
        using var result = GloveTrainer.Train(TinyCorpus.Corpus(), Small);
        var losses = result.Summary.EpochLosses;
        Assert.Equal(15, losses.Count);
        Assert.True(losses[^1] < losses[0] * 0.5, $"loss {string.Join(", ", losses)}");
        Assert.True(TinyCorpus.AllFinite(result.Vectors));
        Assert.True(TinyCorpus.TopicSeparation(result.GetVector) > 0.2);
    }

    [Fact]
    public void OneThreadIsDeterministicAndThreadsWork()
    {
        using var a = GloveTrainer.Train(TinyCorpus.Corpus(), Small with { Epochs = 3 });
        using var b = GloveTrainer.Train(TinyCorpus.Corpus(), Small with { Epochs = 3 });
        Assert.Equal(a.Vectors.ToArray(), b.Vectors.ToArray());
        using var c = GloveTrainer.Train(TinyCorpus.Corpus(), Small with { Threads = 2 });
        Assert.True(c.Summary.EpochLosses[^1] < c.Summary.EpochLosses[0]);
    }

    [Fact]
    public void CancellationDuringFittingReturnsVectors()
    {
        using var cts = new CancellationTokenSource();
        using var result = GloveTrainer.Train(TinyCorpus.Corpus(), Small with { Epochs = 1000, Progress = new CancelAfterFirstEpoch(cts) }, cts.Token);
        Assert.True(result.Summary.Cancelled);
        Assert.InRange(result.Summary.EpochsCompleted, 1, 3);
        Assert.True(TinyCorpus.AllFinite(result.Vectors));
    }

    private sealed class CancelAfterFirstEpoch(CancellationTokenSource cts) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            if (value.Stage == "train")
                cts.Cancel();
        }
    }

    [Fact]
    public void WeightFunctionAndValidation()
    {
        Assert.Equal(1.0, GloveTrainer.Weight(100));
        Assert.Equal(1.0, GloveTrainer.Weight(1000));
        Assert.Equal(Math.Pow(0.5, 0.75), GloveTrainer.Weight(50), 12);
        foreach (var o in new[] { Small with { XMax = 0 }, Small with { Alpha = double.NaN }, Small with { MemoryBudgetBytes = 1000 }, Small with { Sample = -1 },
                     Small with { CreateShard = _ => new MemoryStream() }, Small with { Window = 0 } })
            Assert.StartsWith("[glove.train]", Assert.ThrowsAny<ArgumentException>(() => GloveTrainer.Train(TinyCorpus.NeverOpened(), o)).Message);
    }

    [Fact]
    public void ACorruptShardIsReported()
    {
        var wide = Wide();
        var streams = new Dictionary<int, MemoryStream>();
        var options = Small with
        {
            MemoryBudgetBytes = 1 << 20,
            CreateShard = i => streams[i] = new MemoryStream(),
            OpenShard = i => new MemoryStream(streams[i].ToArray()[..^5]), // truncated inside a record
        };
        var vocab = CorpusVocabulary.Build(wide, 1);
        using var counter = new CooccurrenceCounter(vocab.Count, options);
        counter.Count(wide, vocab, default);
        Assert.True(counter.ShardsSpilled > 0, "the budget must force at least one shard");
        var e = Assert.Throws<InvalidDataException>(() => counter.Merge().Count());
        Assert.StartsWith("[glove.merge]", e.Message);
    }

    [Fact]
    public void DefaultsAreStanfordGlovesExceptDimsAndMinCount()
    {
        var o = new GloveOptions();
        Assert.Equal((15, true, true, 25, 0.05, 100.0, 0.75, 0.0), (o.Window, o.Symmetric, o.DistanceWeighting, o.Epochs, o.LearningRate, o.XMax, o.Alpha, o.Sample));
        Assert.Equal((100, 5L), (o.Dims, o.MinCount));
    }

    [Fact]
    public void PairKeysOfSmallIdsHashApart()
    {
        // long.GetHashCode is i ^ j: the 65 536 pairs of ids below 256 got only 256 hash codes. The counter's
        // comparer must spread them (counting the benchmark corpus went from ~150 s to ~9 s).
        var codes = new HashSet<int>();
        for (long i = 0; i < 256; i++)
            for (long j = 0; j < 256; j++)
                codes.Add(CooccurrenceCounter.PairKeyComparer.Instance.GetHashCode((i << 32) | j));
        Assert.True(codes.Count > 65_000, $"{codes.Count} distinct hash codes for 65 536 pairs");
    }

    [Fact]
    public void SubSamplingDropsFrequentWordsAndWidensTheWindow()
    {
        // "the" is 2/3 of the 18 000 tokens; with Sample = 0.01 it is kept with probability ≈ 0.14, so most lines
        // count w–v at distance 1 instead of 3, while the rarer w and v words are always kept.
        var lines = Enumerable.Range(0, 3000).Select(i => $"the w{i % 30} the the v{i % 20} the");
        var corpus = TextCorpus.FromText(string.Join('\n', lines));
        var vocab = CorpusVocabulary.Build(corpus, 1);
        int the = vocab.GetId("the"), w0 = vocab.GetId("w0"), v0 = vocab.GetId("v0");
        var full = Records(corpus, Small with { Window = 3 }, out _);
        var sampled = Records(corpus, Small with { Window = 3, Sample = 0.01 }, out _);
        Assert.Equal(sampled, Records(corpus, Small with { Window = 3, Sample = 0.01 }, out _)); // same seed, same counts
        Assert.True(sampled[(the, w0)] < 0.35 * full[(the, w0)], $"the–w0: {sampled[(the, w0)]} of {full[(the, w0)]}");
        // w0 and v0 share a line every 60 lines (50 lines); 3 apart in full, mostly 1 apart once "the" is dropped.
        Assert.Equal(50 / 3f, full[(w0, v0)], 3);
        Assert.True(sampled[(w0, v0)] > 2 * full[(w0, v0)], $"w0–v0: {sampled[(w0, v0)]} vs {full[(w0, v0)]}");
        Assert.Equal(full.Keys.Where(k => k.Item1 != the && k.Item2 != the).Count(),
            sampled.Keys.Where(k => k.Item1 != the && k.Item2 != the).Count());
    }
}
