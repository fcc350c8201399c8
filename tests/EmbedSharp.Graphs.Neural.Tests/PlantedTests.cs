using EmbedSharp.Graphs.Evaluation;

namespace EmbedSharp.Graphs.Neural.Tests;

/// <summary>Planted structure GraphSAGE must recover: the blocks of a stochastic block model.</summary>
public class PlantedTests
{
    [Fact]
    public void SupervisedGraphSageClassifiesNodesItNeverSawLabelled_AShallowEmbeddingCannot()
    {
        var (edges, labels) = Planted.BlockModel(blocks: 3, size: 40, pIn: 0.25, pOut: 0.02, seed: 4);
        var graph = Planted.Graph(labels.Length, edges);
        int[] train = [.. Enumerable.Range(0, labels.Length).Where(v => v % 2 == 0)], test = [.. Enumerable.Range(0, labels.Length).Where(v => v % 2 == 1)];
        double Accuracy(int[] fans)
        {
            using var model = new GraphSage(graph, new GraphSageOptions { Dims = 16, HiddenDims = 16, FanOuts = fans, Epochs = 60, BatchSize = 30, LearningRate = 0.02, Threads = 1 });
            var classifier = GraphSageTrainer.TrainNodeClassification(model, train, train.Select(v => labels[v]).ToArray(), 3);
            Assert.Equal(60, classifier.Summary.Epochs);
            var predicted = classifier.Predict(test);
            return test.Where((v, i) => predicted[i] == labels[v]).Count() / (double)test.Length;
        }
        double sage = Accuracy([5, 5]), shallow = Accuracy([]);
        Assert.True(sage >= 0.9, $"GraphSAGE accuracy on unseen nodes {sage}");
        Assert.True(shallow < 0.6, $"a shallow embedding never trains the unseen nodes' rows, so it should be near chance (1/3), got {shallow}");
    }

    [Fact]
    public void UnsupervisedGraphSageRanksHeldOutEdgesOfABlockModel()
    {
        // 8 blocks of 15: a held-out edge's other end is one of ≈ 8 unfiltered same-block candidates among ≈ 110, so a
        // block-perfect ranking has MRR ≈ 0.34 and Hits@10 ≈ 1, a random one MRR ≈ 0.045 and Hits@10 ≈ 0.09.
        var (edges, _) = Planted.BlockModel(blocks: 8, size: 15, pIn: 0.5, pOut: 0.01, seed: 8);
        var heldOut = edges.Where((e, i) => i % 10 == 0).ToArray();
        var trainEdges = edges.Where((e, i) => i % 10 != 0).ToArray();
        var graph = Planted.Graph(120, trainEdges);
        var losses = new List<double>();
        using var model = new GraphSage(graph, new GraphSageOptions
        {
            Dims = 16, HiddenDims = 16, FanOuts = [5, 5], Epochs = 30, BatchSize = 64, Negatives = 10, SharedNegatives = true, LearningRate = 0.03, Threads = 1,
            Progress = e => losses.Add(e.Loss),
        });
        var summary = GraphSageTrainer.TrainLinkPrediction(model, default);
        Assert.False(summary.Cancelled);
        Assert.Equal(30, losses.Count);
        var metrics = NodeLinkPrediction.Evaluate(model.EmbedAll(), 120, model.OutputDims, heldOut, [.. edges]);
        Assert.True(metrics.Mrr > 0.13, $"MRR {metrics.Mrr}");
        Assert.True(metrics.HitsAt10 > 0.55, $"Hits@10 {metrics.HitsAt10}");
    }

    [Fact]
    public void TrainingRejectsBadInputAndStopsWhenCancelled()
    {
        var graph = Planted.Graph(4, [(0, 1), (2, 3)]);
        using var model = new GraphSage(graph, new GraphSageOptions { Dims = 4, HiddenDims = 4, FanOuts = [2], Threads = 1 });
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => GraphSageTrainer.TrainNodeClassification(model, [0, 1], [0, 3], 2));
        Assert.Contains("labels[1]", e.Message);
        Assert.Throws<ArgumentException>(() => GraphSageTrainer.TrainNodeClassification(model, [0], [0, 1], 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GraphSage(graph, new GraphSageOptions { FanOuts = [3, 0] }));
        Assert.Throws<ArgumentException>(() => GraphSageTrainer.TrainLinkPrediction(new GraphSage(Planted.Graph(3, []), new GraphSageOptions { Dims = 2, HiddenDims = 2 })));
        var summary = GraphSageTrainer.TrainLinkPrediction(model, new CancellationToken(canceled: true));
        Assert.True(summary.Cancelled);
        Assert.Equal(0, summary.Epochs);
    }
}
