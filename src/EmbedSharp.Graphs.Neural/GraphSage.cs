using System.Diagnostics;
using EmbedSharp.Diagnostics;
using EmbedSharp.Graphs.Walks;
using EmbedSharp.Initializers;
using EmbedSharp.Models.Dense;
using EmbedSharp.Numerics;

namespace EmbedSharp.Graphs.Neural;

/// <summary>
/// GraphSAGE with the mean aggregator (Hamilton, Ying and Leskovec 2017): node features from an
/// <see cref="Embedding"/> table, then K layers, each
/// <c>h_v^k = σ(W_k · [h_v^{k−1} ‖ mean_{u ∈ S_k(v)} h_u^{k−1}] + b_k)</c> over a fixed-size sample S_k of v's
/// neighbours, and the output scaled to unit length.
/// </summary>
/// <remarks>
/// <para>σ is ReLU on every layer but the last, which is linear (as the paper's reference code does before the
/// final normalisation). Each W_k is a <see cref="Linear"/> of <c>2 · in → HiddenDims</c>; all hops a layer acts on
/// go through it in one GEMM. The backward pass is derived by hand: the gradient of the concatenated input splits
/// into the node's own part and the neighbour part, the latter divided by the fan-out and added to every sampled
/// child; what reaches hop-0..K features is applied to the table with a fused sparse step.</para>
/// <para>Forward and backward allocate their activations per batch; the model is not safe to use from two threads.</para>
/// </remarks>
public sealed class GraphSage : IDisposable
{
    private const string Op = "graphsage";
    private readonly Linear[] _layers;
    private readonly ReLU[] _relus;

    /// <summary>Creates the model over <paramref name="graph"/> with a fresh feature table (normal, std 0.1) and initialised layers.</summary>
    /// <exception cref="ArgumentException">Invalid options.</exception>
    public GraphSage(WalkGraph graph, GraphSageOptions? options = null)
        : this(graph, options ?? new GraphSageOptions(), null)
    {
    }

    /// <summary>Creates the model over <paramref name="graph"/> with the given feature table (rows = nodes), which it takes ownership of.</summary>
    /// <exception cref="ArgumentException">The table's shape does not match the graph and options.</exception>
    public GraphSage(WalkGraph graph, Embedding features, GraphSageOptions? options = null)
        : this(graph, options ?? new GraphSageOptions(), Guard.NotNull(Op, features))
    {
    }

    private GraphSage(WalkGraph graph, GraphSageOptions options, Embedding? features)
    {
        Guard.NotNull(Op, graph);
        Guard.NotNull(Op, options);
        options.Validate(Op);
        if (features is not null && (features.NumEmbeddings != graph.NumNodes || features.Dims != options.Dims))
            ThrowHelper.Argument(Op, nameof(features), $"the feature table is {features.NumEmbeddings} × {features.Dims} but the graph has {graph.NumNodes} nodes and Dims is {options.Dims}");
        Graph = graph;
        Options = options;
        Features = features ?? new Embedding(graph.NumNodes, options.Dims, new EmbeddingOptions { Initializer = Initializer.Normal(0, 0.1), Seed = options.Seed });
        int k = options.FanOuts.Count;
        _layers = new Linear[k];
        _relus = new ReLU[k];
        for (int i = 0; i < k; i++)
        {
            int input = i == 0 ? options.Dims : options.HiddenDims;
            _layers[i] = new Linear(2 * input, options.HiddenDims, bias: true, LinearInit.XavierUniform, options.Seed + 1 + (ulong)i) { Threads = options.Threads };
            _relus[i] = new ReLU(options.HiddenDims);
        }
    }

    /// <summary>The graph whose neighbourhoods are sampled.</summary>
    public WalkGraph Graph { get; }

    /// <summary>The settings.</summary>
    public GraphSageOptions Options { get; }

    /// <summary>The input node embeddings, <c>NumNodes × Dims</c>.</summary>
    public Embedding Features { get; }

    /// <summary>The layers' linear maps, layer 1 first.</summary>
    public IReadOnlyList<Linear> Layers => _layers;

    /// <summary>Width of the output rows.</summary>
    public int OutputDims => _layers.Length == 0 ? Options.Dims : Options.HiddenDims;

    /// <summary>The dense parameters (every layer's weight and bias).</summary>
    public IEnumerable<Parameter> Parameters => _layers.SelectMany(l => l.Parameters);

    /// <summary>
    /// Output vectors of <paramref name="nodes"/> (<c>[nodes.Length, OutputDims]</c>), each from neighbourhoods
    /// sampled with <paramref name="seed"/> (the paper samples at inference too), in batches of <see cref="GraphSageOptions.BatchSize"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A node is out of range.</exception>
    public float[] Embed(ReadOnlySpan<int> nodes, ulong seed = 7)
    {
        var output = new float[(long)nodes.Length * OutputDims];
        var random = new SeededRandom(seed);
        int batch = Math.Max(Options.BatchSize, 256);
        for (int start = 0; start < nodes.Length; start += batch)
        {
            int count = Math.Min(batch, nodes.Length - start);
            var tree = NeighborSampler.Sample(Graph, nodes.Slice(start, count), Fans, random);
            var pass = Forward(tree, training: false);
            pass.Output.AsSpan(0, count * OutputDims).CopyTo(output.AsSpan(start * OutputDims));
        }
        return output;
    }

    /// <summary>Output vectors of every node, row v for node v.</summary>
    public float[] EmbedAll(ulong seed = 7)
    {
        var all = new int[Graph.NumNodes];
        for (int i = 0; i < all.Length; i++)
            all[i] = i;
        return Embed(all, seed);
    }

    internal int[] Fans => [.. Options.FanOuts];

    /// <summary>Forward pass over a sampled tree; keeps what the backward pass needs.</summary>
    internal Pass Forward(SampledTree tree, bool training = true)
    {
        int k = _layers.Length;
        Debug.Assert(tree.Hops == k + 1);
        var pass = new Pass(tree, k);
        int d = Options.Dims;
        pass.H[0] = new float[(long)tree.Nodes.Length * d];
        Features.Forward(tree.Nodes, pass.H[0]);
        for (int layer = 1; layer <= k; layer++)
        {
            int input = layer == 1 ? d : Options.HiddenDims, hidden = Options.HiddenDims;
            int rows = tree.RowsThrough(k - layer);
            float[] previous = pass.H[layer - 1];
            var x = new float[(long)rows * 2 * input];
            for (int hop = 0; hop <= k - layer; hop++)
            {
                int s = tree.FanOuts[hop], first = tree.HopOffsets[hop], children = tree.HopOffsets[hop + 1];
                float inv = 1f / s;
                for (int i = 0; i < tree.HopOffsets[hop + 1] - first; i++)
                {
                    int r = first + i;
                    Span<float> self = x.AsSpan(r * 2 * input, input), mean = x.AsSpan(r * 2 * input + input, input);
                    previous.AsSpan(r * input, input).CopyTo(self);
                    for (int j = 0; j < s; j++)
                        System.Numerics.Tensors.TensorPrimitives.Add(mean, previous.AsSpan((children + i * s + j) * input, input), mean);
                    System.Numerics.Tensors.TensorPrimitives.Multiply(mean, inv, mean);
                }
            }
            var pre = new float[(long)rows * hidden];
            _layers[layer - 1].Forward(x, rows, pre, training);
            pass.X[layer] = x;
            pass.Pre[layer] = pre;
            if (layer < k)
            {
                var h = new float[pre.Length];
                _relus[layer - 1].Forward(pre, rows, h, training);
                pass.H[layer] = h;
            }
            else
            {
                pass.H[layer] = pre;
            }
        }
        float[] top = pass.H[k];
        int width = OutputDims, targets = tree.Targets;
        if (Options.Normalize)
        {
            pass.Output = new float[(long)targets * width];
            new L2Normalize(width).Forward(top.AsSpan(0, targets * width), targets, pass.Output);
        }
        else
        {
            pass.Output = top.AsSpan(0, targets * width).ToArray();
        }
        return pass;
    }

    /// <summary>
    /// Backward pass for <c>∂loss/∂Output</c> = <paramref name="gradOutput"/>: adds every layer's parameter
    /// gradients and returns <c>∂loss/∂features</c> row by tree position (<c>[tree.Nodes.Length, Dims]</c>).
    /// </summary>
    internal float[] Backward(Pass pass, ReadOnlySpan<float> gradOutput)
    {
        var tree = pass.Tree;
        int k = _layers.Length, width = OutputDims, targets = tree.Targets;
        Debug.Assert(gradOutput.Length == targets * width);
        // ∂loss/∂H[k] (rows of hop 0 only: H[k] has exactly the targets' rows).
        float[] grad = new float[(long)tree.RowsThrough(0) * width];
        if (Options.Normalize)
            new L2Normalize(width).Backward(pass.H[k].AsSpan(0, targets * width), pass.Output, gradOutput, targets, grad);
        else
            gradOutput.CopyTo(grad);
        for (int layer = k; layer >= 1; layer--)
        {
            int input = layer == 1 ? Options.Dims : Options.HiddenDims;
            int rows = tree.RowsThrough(k - layer);
            float[] gradPre = grad;
            if (layer < k)
            {
                gradPre = new float[grad.Length];
                _relus[layer - 1].Backward(pass.Pre[layer], pass.H[layer], grad, rows, gradPre);
            }
            var gradX = new float[(long)rows * 2 * input];
            _layers[layer - 1].Backward(pass.X[layer], pass.Pre[layer], gradPre, rows, gradX);
            var gradPrevious = new float[(long)tree.RowsThrough(k - layer + 1) * input];
            for (int hop = 0; hop <= k - layer; hop++)
            {
                int s = tree.FanOuts[hop], first = tree.HopOffsets[hop], children = tree.HopOffsets[hop + 1];
                float inv = 1f / s;
                for (int i = 0; i < tree.HopOffsets[hop + 1] - first; i++)
                {
                    int r = first + i;
                    ReadOnlySpan<float> self = gradX.AsSpan(r * 2 * input, input), mean = gradX.AsSpan(r * 2 * input + input, input);
                    Span<float> own = gradPrevious.AsSpan(r * input, input);
                    System.Numerics.Tensors.TensorPrimitives.Add(own, self, own);
                    for (int j = 0; j < s; j++)
                    {
                        Span<float> child = gradPrevious.AsSpan((children + i * s + j) * input, input);
                        System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(mean, inv, child, child);
                    }
                }
            }
            grad = gradPrevious;
        }
        return grad;
    }

    /// <inheritdoc/>
    public void Dispose() => Features.Dispose();

    /// <summary>The activations of one forward pass: per layer k, its input X[k], pre-activation Pre[k] and output H[k] (H[0] = features).</summary>
    internal sealed class Pass(SampledTree tree, int layers)
    {
        public SampledTree Tree { get; } = tree;

        public float[][] X { get; } = new float[layers + 1][];

        public float[][] Pre { get; } = new float[layers + 1][];

        public float[][] H { get; } = new float[layers + 1][];

        public float[] Output { get; set; } = [];
    }
}
