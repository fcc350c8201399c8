using EmbedSharp.Diagnostics;

namespace EmbedSharp.Models.Dense;

/// <summary>
/// Layers applied one after another. The intermediate activations live in buffers owned by the chain
/// (grown to the largest batch seen and reused); the chain's own input and output are the caller's.
/// </summary>
public class Sequential : Layer
{
    private readonly Layer[] _layers;
    private readonly Parameter[] _parameters;
    private readonly float[]?[] _activations;
    private float[]? _gradA, _gradB;

    /// <summary>Chains <paramref name="layers"/>; each one's <c>InFeatures</c> must equal the previous one's <c>OutFeatures</c>.</summary>
    /// <exception cref="ArgumentException">No layers, or widths that do not chain.</exception>
    public Sequential(IEnumerable<Layer> layers)
    {
        const string op = "sequential.create";
        Guard.NotNull(op, layers);
        _layers = [.. layers];
        if (_layers.Length == 0)
            ThrowHelper.Argument(op, nameof(layers), "at least one layer is needed");
        for (int i = 0; i < _layers.Length; i++)
        {
            Guard.NotNull(op, _layers[i], $"layers[{i}]");
            if (i > 0 && _layers[i].InFeatures != _layers[i - 1].OutFeatures)
                ThrowHelper.Argument(op, nameof(layers),
                    $"layer {i} ({_layers[i].GetType().Name}) takes {_layers[i].InFeatures} features but layer {i - 1} gives {_layers[i - 1].OutFeatures}");
        }
        _parameters = [.. _layers.SelectMany(l => l.Parameters)];
        _activations = new float[]?[_layers.Length - 1];
    }

    /// <summary>The layers, in order.</summary>
    public IReadOnlyList<Layer> Layers => _layers;

    /// <inheritdoc/>
    public override int InFeatures => _layers[0].InFeatures;

    /// <inheritdoc/>
    public override int OutFeatures => _layers[^1].OutFeatures;

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter> Parameters => _parameters;

    /// <inheritdoc/>
    protected override string OpName => "sequential";

    private Span<float> Activation(int i, int batch) =>
        Ensure(ref _activations[i], (long)batch * _layers[i].OutFeatures).AsSpan(0, batch * _layers[i].OutFeatures);

    /// <inheritdoc/>
    protected internal override void ForwardCore(ReadOnlySpan<float> input, int batch, Span<float> output, bool training)
    {
        ReadOnlySpan<float> x = input;
        for (int i = 0; i < _layers.Length; i++)
        {
            Span<float> y = i == _layers.Length - 1 ? output : Activation(i, batch);
            _layers[i].ForwardCore(x, batch, y, training);
            x = y;
        }
    }

    /// <inheritdoc/>
    protected internal override void BackwardCore(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> gradOutput, int batch, Span<float> gradInput)
    {
        int widest = _layers.Max(l => Math.Max(l.InFeatures, l.OutFeatures));
        float[] ga = Ensure(ref _gradA, (long)batch * widest), gb = Ensure(ref _gradB, (long)batch * widest);
        ReadOnlySpan<float> g = gradOutput;
        for (int i = _layers.Length - 1; i >= 0; i--)
        {
            Layer layer = _layers[i];
            ReadOnlySpan<float> x = i == 0 ? input : _activations[i - 1].AsSpan(0, batch * layer.InFeatures);
            ReadOnlySpan<float> y = i == _layers.Length - 1 ? output : _activations[i].AsSpan(0, batch * layer.OutFeatures);
            Span<float> dx = i == 0 ? gradInput : ((_layers.Length - 1 - i) % 2 == 0 ? ga : gb).AsSpan(0, batch * layer.InFeatures);
            layer.BackwardCore(x, y, g, batch, dx);
            g = dx;
        }
    }
}

/// <summary>
/// A multilayer perceptron: <c>Linear → [LayerNorm] → activation → [Dropout]</c> per hidden width, then
/// a final <c>Linear</c> with no activation (losses take logits).
/// </summary>
public sealed class Mlp : Sequential
{
    /// <summary>Builds the chain; layer <c>i</c> is seeded from <c>seed + i</c>.</summary>
    /// <param name="inFeatures">Input width.</param>
    /// <param name="hiddenSizes">Widths of the hidden layers (may be empty: one Linear).</param>
    /// <param name="outFeatures">Output width.</param>
    /// <param name="activation">Activation after each hidden Linear.</param>
    /// <param name="dropout">Dropout probability after each hidden activation (0: none).</param>
    /// <param name="layerNorm">Whether to normalise each hidden Linear's output before its activation.</param>
    /// <param name="init">Initialisation of every Linear.</param>
    /// <param name="seed">Seed of the first layer.</param>
    public Mlp(int inFeatures, IReadOnlyList<int> hiddenSizes, int outFeatures, ActivationKind activation = ActivationKind.ReLU,
        float dropout = 0f, bool layerNorm = false, LinearInit init = LinearInit.PyTorch, ulong seed = 0)
        : base(Build(inFeatures, hiddenSizes, outFeatures, activation, dropout, layerNorm, init, seed))
    {
    }

    private static List<Layer> Build(int inFeatures, IReadOnlyList<int> hiddenSizes, int outFeatures, ActivationKind activation,
        float dropout, bool layerNorm, LinearInit init, ulong seed)
    {
        Guard.NotNull("mlp.create", hiddenSizes);
        var layers = new List<Layer>();
        int width = inFeatures;
        ulong s = seed;
        foreach (int h in hiddenSizes)
        {
            layers.Add(new Linear(width, h, true, init, s++));
            if (layerNorm)
                layers.Add(new LayerNorm(h));
            layers.Add(Dense.Activation.Create(activation, h));
            if (dropout > 0)
                layers.Add(new Dropout(h, dropout, s++));
            width = h;
        }
        layers.Add(new Linear(width, outFeatures, true, init, s));
        return layers;
    }
}
