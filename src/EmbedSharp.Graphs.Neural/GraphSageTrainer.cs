using System.Diagnostics;
using EmbedSharp.Diagnostics;
using EmbedSharp.Models.Dense;
using EmbedSharp.Models.Losses;
using EmbedSharp.Numerics;
using EmbedSharp.Optimizers;

namespace EmbedSharp.Graphs.Neural;

/// <summary>What a training run did: epochs finished, the last epoch's mean loss, seconds, whether it was cancelled.</summary>
public sealed record GraphSageSummary(int Epochs, double Loss, double Seconds, bool Cancelled);

/// <summary>
/// Trains a <see cref="GraphSage"/> model with Adam on the layers and lazy Adam (fused, sparse) on the feature
/// table: unsupervised for link prediction (<see cref="TrainLinkPrediction"/>) or supervised for node
/// classification (<see cref="TrainNodeClassification"/>).
/// </summary>
public static class GraphSageTrainer
{
    /// <summary>
    /// The paper's unsupervised loss (eq. 1) with edges as the positive pairs:
    /// <c>J = (1/B) Σ_(u,v) [−log σ(z_u·z_v/τ) − Σ_{n ∈ N} log σ(−z_u·z_n/τ)]</c>, N being
    /// <see cref="GraphSageOptions.Negatives"/> nodes drawn ∝ degree^0.75, per positive or shared by the batch
    /// (<see cref="GraphSageOptions.SharedNegatives"/>). Every undirected
    /// edge of the model's graph is a positive once per epoch, its direction drawn at random.
    /// </summary>
    /// <exception cref="NonFiniteException">A gradient became NaN or infinite (lower the learning rate).</exception>
    public static GraphSageSummary TrainLinkPrediction(GraphSage model, CancellationToken cancellationToken = default)
    {
        const string op = "graphsage.train";
        Guard.NotNull(op, model);
        var o = model.Options;
        var graph = model.Graph;
        var edges = new List<(int U, int V)>();
        for (int u = 0; u < graph.NumNodes; u++)
            foreach (int v in graph.NeighborsOf(u))
                if (u < v)
                    edges.Add((u, v));
        if (edges.Count == 0)
            ThrowHelper.Argument(op, nameof(model), "the graph has no edges between distinct nodes to train on");
        var negatives = new NegativeTable(graph);
        var random = new SeededRandom(o.Seed ^ 0x5A6E);
        using var optimizers = new StepRunner(model);
        var order = edges.ToArray();
        int width = model.OutputDims;
        float invTemperature = (float)(1 / o.Temperature);
        var clock = Stopwatch.StartNew();
        double epochLoss = 0;
        int epoch, completed = 0;
        bool cancelled = false;
        for (epoch = 0; epoch < o.Epochs && !cancelled; epoch++)
        {
            Shuffle(order, random);
            double sum = 0;
            int steps = 0;
            for (int start = 0; start < order.Length; start += o.BatchSize)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    cancelled = true;
                    break;
                }
                int b = Math.Min(o.BatchSize, order.Length - start), q = o.Negatives;
                var targets = new int[2 * b + (o.SharedNegatives ? q : b * q)];
                for (int i = 0; i < b; i++)
                {
                    var (u, v) = order[start + i];
                    if ((random.NextUInt64() & 1) != 0)
                        (u, v) = (v, u);
                    targets[i] = u;
                    targets[b + i] = v;
                }
                for (int j = 2 * b; j < targets.Length; j++)
                    targets[j] = negatives.Draw(random);
                var tree = NeighborSampler.Sample(graph, targets, model.Fans, random);
                var pass = model.Forward(tree);
                var grad = new float[pass.Output.Length];
                sum += LinkLoss(pass.Output, b, q, o.SharedNegatives, width, invTemperature, grad);
                steps++;
                optimizers.Step(model, pass, grad);
            }
            if (cancelled)
                break;
            epochLoss = sum / steps;
            completed++;
            o.Progress?.Invoke(new GraphSageEpoch(epoch + 1, epochLoss, clock.Elapsed.TotalSeconds));
        }
        return new GraphSageSummary(completed, epochLoss, clock.Elapsed.TotalSeconds, cancelled);
    }

    /// <summary>
    /// The link loss on outputs laid out <c>[u_1..u_B, v_1..v_B, negatives]</c>, the negatives being Q rows shared by
    /// every positive or, per positive i, rows <c>2B + i·Q .. 2B + (i+1)·Q − 1</c>; writes <c>∂J/∂z</c> into
    /// <paramref name="grad"/> and returns J. Softplus is evaluated stably; sums run in double.
    /// </summary>
    internal static double LinkLoss(ReadOnlySpan<float> z, int b, int q, bool shared, int width, float invTemperature, Span<float> grad)
    {
        grad.Clear();
        double loss = 0;
        float scale = 1f / b;
        for (int i = 0; i < b; i++)
        {
            ReadOnlySpan<float> zu = z.Slice(i * width, width), zv = z.Slice((b + i) * width, width);
            Span<float> gu = grad.Slice(i * width, width), gv = grad.Slice((b + i) * width, width);
            double pos = System.Numerics.Tensors.TensorPrimitives.Dot(zu, zv) * (double)invTemperature;
            loss += Softplus(-pos);
            float dp = (float)((Sigmoid(pos) - 1) * invTemperature) * scale;
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(zv, dp, gu, gu);
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(zu, dp, gv, gv);
            for (int j = 0; j < q; j++)
            {
                int n = 2 * b + (shared ? j : i * q + j);
                ReadOnlySpan<float> zn = z.Slice(n * width, width);
                double neg = System.Numerics.Tensors.TensorPrimitives.Dot(zu, zn) * (double)invTemperature;
                loss += Softplus(neg);
                float dn = (float)(Sigmoid(neg) * invTemperature) * scale;
                System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(zn, dn, gu, gu);
                Span<float> gn = grad.Slice(n * width, width);
                System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(zu, dn, gn, gn);
            }
        }
        return loss / b;
    }

    private static double Sigmoid(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));

    private static double Softplus(double x) => Math.Max(x, 0) + Math.Log(1 + Math.Exp(-Math.Abs(x)));

    /// <summary>
    /// Supervised node classification: a <see cref="Linear"/> head on the GraphSAGE output, softmax cross-entropy
    /// over <paramref name="labels"/> of <paramref name="nodes"/> (the labelled training nodes), trained jointly.
    /// </summary>
    /// <exception cref="ArgumentException">Lengths differ, a node or label is out of range, or there are no nodes.</exception>
    public static GraphSageClassifier TrainNodeClassification(GraphSage model, ReadOnlySpan<int> nodes, ReadOnlySpan<int> labels, int numClasses,
        CancellationToken cancellationToken = default)
    {
        const string op = "graphsage.train_classifier";
        Guard.NotNull(op, model);
        Guard.Positive(op, numClasses);
        Guard.Length(op, labels.Length, nodes.Length, "one label per node");
        Guard.Positive(op, nodes.Length, "nodes.Length");
        for (int i = 0; i < nodes.Length; i++)
        {
            Guard.InRange(op, nodes[i], 0, model.Graph.NumNodes, $"nodes[{i}]");
            Guard.InRange(op, labels[i], 0, numClasses, $"labels[{i}]");
        }
        var o = model.Options;
        var head = new Linear(model.OutputDims, numClasses, bias: true, LinearInit.XavierUniform, o.Seed + 99) { Threads = o.Threads };
        var classifier = new GraphSageClassifier(model, head, numClasses);
        var random = new SeededRandom(o.Seed ^ 0xC1A5);
        using var optimizers = new StepRunner(model, head.Parameters);
        var order = Enumerable.Range(0, nodes.Length).ToArray();
        int[] nodeArray = nodes.ToArray(), labelArray = labels.ToArray();
        var clock = Stopwatch.StartNew();
        double epochLoss = 0;
        int epoch, completed = 0;
        bool cancelled = false;
        for (epoch = 0; epoch < o.Epochs && !cancelled; epoch++)
        {
            Shuffle(order, random);
            double sum = 0;
            int steps = 0;
            for (int start = 0; start < order.Length; start += o.BatchSize)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    cancelled = true;
                    break;
                }
                int b = Math.Min(o.BatchSize, order.Length - start);
                var targets = new int[b];
                var y = new int[b];
                for (int i = 0; i < b; i++)
                {
                    targets[i] = nodeArray[order[start + i]];
                    y[i] = labelArray[order[start + i]];
                }
                var tree = NeighborSampler.Sample(model.Graph, targets, model.Fans, random);
                var pass = model.Forward(tree);
                var logits = new float[b * numClasses];
                head.Forward(pass.Output, b, logits, training: true);
                var gradLogits = new float[logits.Length];
                sum += Loss.SoftmaxCrossEntropy(logits, b, numClasses, y, gradLogits);
                var gradZ = new float[pass.Output.Length];
                head.Backward(pass.Output, logits, gradLogits, b, gradZ);
                steps++;
                optimizers.Step(model, pass, gradZ);
            }
            if (cancelled)
                break;
            epochLoss = sum / steps;
            completed++;
            o.Progress?.Invoke(new GraphSageEpoch(epoch + 1, epochLoss, clock.Elapsed.TotalSeconds));
        }
        classifier.Summary = new GraphSageSummary(completed, epochLoss, clock.Elapsed.TotalSeconds, cancelled);
        return classifier;
    }

    private static void Shuffle<T>(T[] items, SeededRandom random)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = random.NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>Dense Adam over the layers (and a head), lazy Adam over the feature table; one step per batch.</summary>
    private sealed class StepRunner : IDisposable
    {
        private readonly DenseAdam? _dense;
        private readonly SparseOptimizer? _sparse;

        public StepRunner(GraphSage model, IEnumerable<Parameter>? extra = null)
        {
            var parameters = model.Parameters.Concat(extra ?? []).ToArray();
            double lr = model.Options.LearningRate;
            _dense = parameters.Length == 0 ? null : new DenseAdam(parameters, lr);
            _sparse = model.Options.TrainFeatures ? FusedSparseBackward.Create(model.Features.Weight, new LazyAdam(lr)) : null;
        }

        public void Step(GraphSage model, GraphSage.Pass pass, ReadOnlySpan<float> gradOutput)
        {
            _dense?.ZeroGrad();
            float[] gradFeatures = model.Backward(pass, gradOutput);
            _dense?.Step();
            if (_sparse is not null)
                model.Features.BackwardAndStep(pass.Tree.Nodes, gradFeatures, _sparse);
        }

        public void Dispose() => _sparse?.Dispose();
    }
}

/// <summary>A GraphSAGE model with a trained classification head.</summary>
public sealed class GraphSageClassifier
{
    internal GraphSageClassifier(GraphSage model, Linear head, int numClasses)
    {
        Model = model;
        Head = head;
        NumClasses = numClasses;
    }

    /// <summary>The message-passing model (owned by the caller).</summary>
    public GraphSage Model { get; }

    /// <summary>The head: <c>OutputDims → NumClasses</c> logits.</summary>
    public Linear Head { get; }

    /// <summary>Number of classes.</summary>
    public int NumClasses { get; }

    /// <summary>How training went.</summary>
    public GraphSageSummary Summary { get; internal set; } = new(0, 0, 0, false);

    /// <summary>The most likely class of each node (ties to the lower class), neighbourhoods sampled with <paramref name="seed"/>.</summary>
    /// <exception cref="ArgumentException">A node is out of range.</exception>
    public int[] Predict(ReadOnlySpan<int> nodes, ulong seed = 7)
    {
        var z = Model.Embed(nodes, seed);
        var logits = new float[nodes.Length * NumClasses];
        Head.Forward(z, nodes.Length, logits);
        var predicted = new int[nodes.Length];
        for (int i = 0; i < nodes.Length; i++)
            predicted[i] = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(logits.AsSpan(i * NumClasses, NumClasses));
        return predicted;
    }
}

/// <summary>Negative nodes drawn ∝ degree^0.75 (word2vec's unigram smoothing, as GraphSAGE's code does), by binary search in the cumulative weights.</summary>
internal sealed class NegativeTable
{
    private readonly double[] _cumulative;

    public NegativeTable(Walks.WalkGraph graph)
    {
        _cumulative = new double[graph.NumNodes];
        double total = 0;
        for (int v = 0; v < graph.NumNodes; v++)
        {
            total += Math.Pow(graph.Degree(v), 0.75);
            _cumulative[v] = total;
        }
        if (total == 0)
            for (int v = 0; v < graph.NumNodes; v++)
                _cumulative[v] = v + 1;
    }

    public int Draw(SeededRandom random)
    {
        double x = random.NextDouble() * _cumulative[^1];
        int i = Array.BinarySearch(_cumulative, x);
        i = i < 0 ? ~i : i + 1;
        return Math.Min(i, _cumulative.Length - 1);
    }
}
