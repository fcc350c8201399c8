using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;

namespace EmbedSharp.Initializers;

/// <summary>
/// Fills a new table's weights. Every initializer draws from a <see cref="SeededRandom"/>, so the
/// same seed gives the same table on every machine. The shape is passed so fan-based schemes
/// (Xavier) can use it; for an embedding weight <c>[NumEmbeddings, Dims]</c>, PyTorch's
/// convention is <c>fanIn = Dims</c> and <c>fanOut = NumEmbeddings</c>.
/// </summary>
public abstract class Initializer
{
    /// <summary>
    /// Writes values for a block of whole rows of a <c>numEmbeddings × dims</c> table into
    /// <paramref name="destination"/>. Large tables are filled block by block, in row order, from the
    /// same <paramref name="random"/> stream, so the result does not depend on the block size.
    /// </summary>
    public abstract void Fill(Span<float> destination, int numEmbeddings, int dims, SeededRandom random);

    /// <summary>A short description, e.g. <c>normal(0, 1)</c>.</summary>
    public abstract override string ToString();

    /// <summary>N(0, 1): PyTorch's <c>nn.Embedding</c> default.</summary>
    public static Initializer TorchDefault { get; } = new NormalInitializer(0, 1, "torch default: normal(0, 1)");

    /// <summary>N(0, 1/dims), i.e. standard deviation √(1/dims): MLX's <c>nn.Embedding</c> default.</summary>
    public static Initializer MlxDefault { get; } = new MlxNormalInitializer();

    /// <summary>U(−0.05, 0.05): Keras' <c>"uniform"</c> default.</summary>
    public static Initializer KerasUniform { get; } = new UniformInitializer(-0.05, 0.05);

    /// <summary>N(0, 0.02): GPT-2's token and position embeddings.</summary>
    public static Initializer Gpt2 { get; } = new NormalInitializer(0, 0.02, "gpt-2: normal(0, 0.02)");

    /// <summary>All zeros.</summary>
    public static Initializer Zeros { get; } = new ConstantInitializer(0);

    /// <summary>N(mean, std²).</summary>
    public static Initializer Normal(double mean = 0, double std = 1)
    {
        Guard.Finite("initializer.normal", mean);
        Guard.PositiveFinite("initializer.normal", std);
        return new NormalInitializer(mean, std, $"normal({mean}, {std})");
    }

    /// <summary>U(low, high) on [low, high).</summary>
    public static Initializer Uniform(double low, double high)
    {
        Guard.Finite("initializer.uniform", low);
        Guard.Finite("initializer.uniform", high);
        if (!(high > low))
            ThrowHelper.ArgumentOutOfRange("initializer.uniform", nameof(high), high, $"high must be > low ({low}) but was {high}");
        return new UniformInitializer(low, high);
    }

    /// <summary>Xavier/Glorot uniform: U(−a, a) with <c>a = gain·√(6/(fanIn + fanOut))</c>.</summary>
    public static Initializer XavierUniform(double gain = 1)
    {
        Guard.PositiveFinite("initializer.xavier_uniform", gain);
        return new XavierInitializer(gain, uniform: true);
    }

    /// <summary>Xavier/Glorot normal: N(0, σ²) with <c>σ = gain·√(2/(fanIn + fanOut))</c>.</summary>
    public static Initializer XavierNormal(double gain = 1)
    {
        Guard.PositiveFinite("initializer.xavier_normal", gain);
        return new XavierInitializer(gain, uniform: false);
    }

    /// <summary>
    /// Truncated normal as PyTorch's <c>trunc_normal_</c>: N(mean, std²) redrawn until it falls in
    /// <c>[a, b]</c> (absolute bounds, default ±2).
    /// </summary>
    public static Initializer TruncatedNormal(double mean = 0, double std = 1, double a = -2, double b = 2)
    {
        const string op = "initializer.truncated_normal";
        Guard.Finite(op, mean);
        Guard.PositiveFinite(op, std);
        Guard.Finite(op, a);
        Guard.Finite(op, b);
        if (!(b > a))
            ThrowHelper.ArgumentOutOfRange(op, nameof(b), b, $"b must be > a ({a}) but was {b}");
        // Rejection needs the interval to hold some probability mass, or it would spin forever.
        if (b < mean - 8 * std || a > mean + 8 * std)
            ThrowHelper.ArgumentOutOfRange(op, nameof(a), a, $"[{a}, {b}] lies more than 8 standard deviations from the mean {mean}; move the bounds closer");
        return new TruncatedNormalInitializer(mean, std, a, b);
    }

    /// <summary>A caller-supplied fill: <c>fill(destination, numEmbeddings, dims, random)</c>.</summary>
    public static Initializer Custom(Action<Span<float>, int, int, SeededRandom> fill, string name = "custom")
    {
        ArgumentNullException.ThrowIfNull(fill);
        return new CustomInitializer(fill, name);
    }

    private sealed class NormalInitializer(double mean, double std, string name) : Initializer
    {
        public override void Fill(Span<float> destination, int numEmbeddings, int dims, SeededRandom random)
        {
            for (int i = 0; i < destination.Length; i++)
                destination[i] = (float)(mean + std * random.NextNormal());
        }

        public override string ToString() => name;
    }

    private sealed class MlxNormalInitializer : Initializer
    {
        public override void Fill(Span<float> destination, int numEmbeddings, int dims, SeededRandom random)
        {
            double std = dims == 0 ? 0 : Math.Sqrt(1.0 / dims);
            for (int i = 0; i < destination.Length; i++)
                destination[i] = (float)(std * random.NextNormal());
        }

        public override string ToString() => "mlx default: normal(0, 1/dims)";
    }

    private sealed class UniformInitializer(double low, double high) : Initializer
    {
        public override void Fill(Span<float> destination, int numEmbeddings, int dims, SeededRandom random)
        {
            for (int i = 0; i < destination.Length; i++)
            {
                float v = (float)(low + (high - low) * random.NextDouble());
                // Rounding to float can land on `high`; keep the interval half-open.
                destination[i] = v < high ? v : MathF.BitDecrement((float)high);
            }
        }

        public override string ToString() => $"uniform({low}, {high})";
    }

    private sealed class XavierInitializer(double gain, bool uniform) : Initializer
    {
        public override void Fill(Span<float> destination, int numEmbeddings, int dims, SeededRandom random)
        {
            double fanSum = (double)dims + numEmbeddings;
            if (fanSum == 0)
                return;
            if (uniform)
            {
                double a = gain * Math.Sqrt(6.0 / fanSum);
                new UniformInitializer(-a, a).Fill(destination, numEmbeddings, dims, random);
            }
            else
            {
                double std = gain * Math.Sqrt(2.0 / fanSum);
                new NormalInitializer(0, std, "").Fill(destination, numEmbeddings, dims, random);
            }
        }

        public override string ToString() => uniform ? $"xavier_uniform(gain {gain})" : $"xavier_normal(gain {gain})";
    }

    private sealed class TruncatedNormalInitializer(double mean, double std, double a, double b) : Initializer
    {
        public override void Fill(Span<float> destination, int numEmbeddings, int dims, SeededRandom random)
        {
            for (int i = 0; i < destination.Length; i++)
            {
                double v;
                do
                {
                    v = mean + std * random.NextNormal();
                } while (v < a || v > b);
                destination[i] = (float)v;
            }
        }

        public override string ToString() => $"truncated_normal({mean}, {std}, [{a}, {b}])";
    }

    private sealed class ConstantInitializer(float value) : Initializer
    {
        public override void Fill(Span<float> destination, int numEmbeddings, int dims, SeededRandom random) =>
            destination.Fill(value);

        public override string ToString() => value == 0 ? "zeros" : $"constant({value})";
    }

    private sealed class CustomInitializer(Action<Span<float>, int, int, SeededRandom> fill, string name) : Initializer
    {
        public override void Fill(Span<float> destination, int numEmbeddings, int dims, SeededRandom random) =>
            fill(destination, numEmbeddings, dims, random);

        public override string ToString() => name;
    }
}
