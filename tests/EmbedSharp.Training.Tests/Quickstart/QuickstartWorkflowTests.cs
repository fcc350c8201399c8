using System.Text;
using EmbedSharp.Training.Common;
using EmbedSharp.Training.Quickstart;

namespace EmbedSharp.Training.Tests.Quickstart;

public sealed class QuickstartWorkflowTests
{
    // Topic words only ever meet their own topic, so pairs within a topic should score above pairs across.
    private const string Pairs = "# word 1\tword 2\tscore\ncat\tdog\t9\nred\tblue\t9\none\ttwo\t9\nparis\trome\t9\ncat\tred\t1\none\tparis\t1\ndog\tseven\t1\nblue\toslo\t1\nzebra\tcat\t5\n";

    // Analogies inside a topic; one question has a word the corpus never uses.
    private const string Analogies = ": topics\ncat dog red blue\none two paris rome\nzebra cat red blue\n";

    private static QuickstartOptions Options(IProgress<TrainingProgress>? progress = null) => new()
    {
        Corpus = TinyCorpus.Corpus(lines: 600),
        Analogies = () => new MemoryStream(Encoding.UTF8.GetBytes(Analogies)),
        WordPairs = () => new MemoryStream(Encoding.UTF8.GetBytes(Pairs)),
        Dims = 32,
        Epochs = 3,
        Threads = 1,
        Seed = 3,
        Progress = progress,
    };

    [Fact]
    public void Run_TrainsScoresAndQuantizes()
    {
        int reports = 0;
        using var result = QuickstartWorkflow.Run(Options(new SyncReports(_ => Interlocked.Increment(ref reports))));

        Assert.Equal(32, result.Trained.Dims);
        Assert.Equal(32, result.Trained.Vocabulary.Count);   // the four topics' words, each far above min count 5
        Assert.True(reports > 0);
        Assert.NotEmpty(result.Losses);
        Assert.True(result.Losses.Zip(result.Losses.Skip(1)).All(p => p.First.Fraction <= p.Second.Fraction));

        // The planted topics are found: pairs within a topic rank above pairs across (ρ > 0), the unknown
        // word's pair is out of vocabulary, and the analogy with an unknown word is not asked.
        Assert.Equal(8, result.Scores.Pairs.Pairs);
        Assert.Equal(1, result.Scores.Pairs.OutOfVocabulary);
        Assert.True(result.Scores.Pairs.Spearman > 0.5, $"ρ {result.Scores.Pairs.Spearman}");
        Assert.Equal(3, result.Scores.Analogy.Questions);
        Assert.Equal(1, result.Scores.Analogy.OutOfVocabulary);

        // The probe words are not in this corpus: none listed.
        Assert.Empty(result.Probes);

        Assert.Equal([8, 4], result.Quantized.Select(q => q.Bits));
        Assert.All(result.Quantized, q => Assert.Equal(32, q.GroupSize));
        var (q8, q4) = (result.Quantized[0], result.Quantized[1]);
        Assert.True(q8.Report.RmsError < q4.Report.RmsError);
        Assert.InRange(q8.NeighbourOverlap, 0.8, 1.0);
        Assert.True(q4.NeighbourOverlap <= q8.NeighbourOverlap + 1e-9);
        Assert.Equal(result.Trained.Vocabulary.Count, q8.Table.NumEmbeddings);
    }

    [Fact]
    public void Run_WithOneThreadAndASeed_IsDeterministic()
    {
        using var a = QuickstartWorkflow.Run(Options());
        using var b = QuickstartWorkflow.Run(Options());
        Assert.Equal(a.Trained.Vectors.AsSpan<float>().ToArray(), b.Trained.Vectors.AsSpan<float>().ToArray());
        Assert.Equal(a.Quantized[1].NeighbourOverlap, b.Quantized[1].NeighbourOverlap);
    }

    [Theory]
    [InlineData(48, 3, 1, "Dims")]
    [InlineData(0, 3, 1, "Dims")]
    [InlineData(32, 0, 1, "Epochs")]
    [InlineData(32, 3, 0, "Threads")]
    public void Run_RefusesBadOptionsBeforeTraining(int dims, int epochs, int threads, string name)
    {
        int reports = 0;
        var options = Options(new SyncReports(_ => reports++)) with { Dims = dims, Epochs = epochs, Threads = threads };
        var e = Assert.ThrowsAny<ArgumentException>(() => QuickstartWorkflow.Run(options));
        Assert.StartsWith("[quickstart]", e.Message);
        Assert.Contains(name, e.Message);
        Assert.Equal(0, reports);
    }

    [Fact]
    public void Overlap_CountsSharedNeighbours()
    {
        string[][] reference = [["a", "b"], ["c", "d"]];
        Assert.Equal(1.0, QuickstartWorkflow.Overlap(reference, [["b", "a"], ["d", "c"]]));
        Assert.Equal(0.0, QuickstartWorkflow.Overlap(reference, [["x", "y"], ["z", "w"]]));
        Assert.Equal(0.5, QuickstartWorkflow.Overlap(reference, [["a", "x"], ["y", "d"]]));
        Assert.Equal(0.25, QuickstartWorkflow.Overlap(reference, [["a", "a"], ["y", "z"]]));   // a repeat counts once
        Assert.Throws<ArgumentException>(() => QuickstartWorkflow.Overlap(reference, [["a"]]));
    }

    private sealed class SyncReports(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
