using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;
using EmbedSharp.Training.Common;
using EmbedSharp.Vocabularies;

namespace EmbedSharp.Training.Nplm;

/// <summary>
/// Bengio et al. (2003)'s neural probabilistic language model:
/// <c>P(w_t | w_{t−n+1} … w_{t−1}) = softmax(b + W·x + U·tanh(d + H·x))</c> with
/// <c>x = [C(w_{t−n+1}); …; C(w_{t−1})]</c>, the concatenated rows of the shared word matrix C.
/// </summary>
/// <remarks>
/// C is an <see cref="EmbedSharp.Embedding"/>, so it can start from pre-trained vectors and be frozen
/// (<see cref="Embedding.Freeze"/>) while the rest of the network trains, then unfrozen. The vocabulary
/// holds <c>&lt;unk&gt;</c> (id 0, every word outside it) and <c>&lt;s&gt;</c> (id 1, the padding before a line's
/// first word) ahead of the words. W is present only with direct connections.
/// </remarks>
public sealed class NplmModel : IDisposable
{
    internal readonly float[] H, D, U, B;
    internal readonly float[]? W;

    internal NplmModel(Vocabulary vocabulary, Embedding embedding, NplmOptions options, SeededRandom random)
    {
        Vocabulary = vocabulary;
        Embedding = embedding;
        ContextSize = options.ContextSize;
        Hidden = options.Hidden;
        DirectConnections = options.DirectConnections;
        int v = vocabulary.Count, nm = InputWidth;
        H = Uniform(Hidden * nm, 1 / Math.Sqrt(nm), random);
        D = new float[Hidden];
        U = Uniform(v * Hidden, 1 / Math.Sqrt(Hidden), random);
        B = new float[v];
        W = DirectConnections ? Uniform(v * nm, 1 / Math.Sqrt(nm), random) : null;
    }

    private static float[] Uniform(long n, double halfWidth, SeededRandom random)
    {
        var a = new float[n];
        for (long i = 0; i < n; i++)
            a[i] = (float)((random.NextDouble() * 2 - 1) * halfWidth);
        return a;
    }

    /// <summary>The unknown-word token, id 0.</summary>
    public const string UnknownToken = SpecialTokens.Unknown;

    /// <summary>The before-the-line padding token, id 1.</summary>
    public const string StartToken = SpecialTokens.Bos;

    /// <summary>Words (with <c>&lt;unk&gt;</c> and <c>&lt;s&gt;</c> first).</summary>
    public Vocabulary Vocabulary { get; }

    /// <summary>The shared word matrix C, <c>|V| × m</c>.</summary>
    public Embedding Embedding { get; }

    /// <summary>n − 1.</summary>
    public int ContextSize { get; }

    /// <summary>Hidden units h.</summary>
    public int Hidden { get; }

    /// <summary>Whether W (context → output) exists.</summary>
    public bool DirectConnections { get; }

    /// <summary>m, the word vector length.</summary>
    public int Dims => Embedding.Dims;

    /// <summary>(n − 1)·m, the length of x.</summary>
    public int InputWidth => ContextSize * Embedding.Dims;

    /// <summary>Summaries of the training calls made so far, in order.</summary>
    public IReadOnlyList<TrainingSummary> History => _history;

    private readonly List<TrainingSummary> _history = [];

    internal void AddHistory(TrainingSummary summary) => _history.Add(summary);

    /// <summary>Maps a token to its id, <c>&lt;unk&gt;</c> when unknown.</summary>
    internal int IdOf(ReadOnlySpan<char> token) => Vocabulary.TryGetId(token, out int id) ? id : 0;

    /// <summary>
    /// Fills <paramref name="logProbabilities"/> (length |V|) with <c>log P(w | context)</c> under the full softmax.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="context"/> does not hold <see cref="ContextSize"/> ids, or the destination is too short.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An id is out of range.</exception>
    public void LogProbabilities(ReadOnlySpan<int> context, Span<float> logProbabilities)
    {
        const string op = "nplm.log_probabilities";
        Guard.Length(op, context.Length, ContextSize, "ContextSize ids, oldest first");
        Guard.MinLength(op, logProbabilities.Length, Vocabulary.Count, "one value per word");
        foreach (int id in context)
            Guard.InRange(op, id, 0, Vocabulary.Count, nameof(context));
        var x = new float[InputWidth];
        var a = new float[Hidden];
        Forward(context, x, a, logProbabilities[..Vocabulary.Count]);
        float max = float.NegativeInfinity;
        foreach (float y in logProbabilities[..Vocabulary.Count])
            max = Math.Max(max, y);
        double z = 0;
        foreach (float y in logProbabilities[..Vocabulary.Count])
            z += Math.Exp(y - max);
        float logZ = max + (float)Math.Log(z);
        for (int j = 0; j < Vocabulary.Count; j++)
            logProbabilities[j] -= logZ;
    }

    /// <summary>x = concatenated C rows, a = tanh(d + Hx), y = b + Ua (+ Wx): the unnormalised logits for every word.</summary>
    internal unsafe void Forward(ReadOnlySpan<int> context, Span<float> x, Span<float> a, Span<float> y)
    {
        ComputeHidden(context, x, a);
        int v = Vocabulary.Count, nm = InputWidth;
        fixed (float* px = x, pa = a, pu = U, pw = W)
        {
            for (int j = 0; j < v; j++)
            {
                float s = B[j] + VectorMath.Dot(pu + (long)j * Hidden, pa, Hidden);
                if (pw is not null)
                    s += VectorMath.Dot(pw + (long)j * nm, px, nm);
                y[j] = s;
            }
        }
    }

    internal unsafe void ComputeHidden(ReadOnlySpan<int> context, Span<float> x, Span<float> a)
    {
        int m = Dims, nm = InputWidth;
        for (int k = 0; k < context.Length; k++)
            Embedding.Weight.ReadRow(context[k], x.Slice(k * m, m));
        fixed (float* px = x, ph = H)
        {
            for (int r = 0; r < Hidden; r++)
                a[r] = MathF.Tanh(D[r] + VectorMath.Dot(ph + (long)r * nm, px, nm));
        }
    }

    /// <summary>
    /// Perplexity on held-out text, <c>exp(−(1/T)·Σ_t log P(w_t | context))</c> over every word of every line
    /// (unknown words count as <c>&lt;unk&gt;</c>), with the full softmax whatever the training output layer.
    /// </summary>
    /// <exception cref="InvalidOperationException">The text has no words.</exception>
    public double Perplexity(TextCorpus heldOut, CancellationToken cancellationToken = default)
    {
        const string op = "nplm.perplexity";
        Guard.NotNull(op, heldOut);
        int v = Vocabulary.Count;
        var context = new int[ContextSize];
        var x = new float[InputWidth];
        var a = new float[Hidden];
        var y = new float[v];
        double nll = 0;
        long words = 0;
        using var cursor = heldOut.Open();
        while (cursor.NextLine())
        {
            cancellationToken.ThrowIfCancellationRequested();
            Array.Fill(context, 1);
            while (cursor.NextToken(out ReadOnlySpan<char> token))
            {
                int target = IdOf(token);
                Forward(context, x, a, y);
                float max = float.NegativeInfinity;
                foreach (float s in y)
                    max = Math.Max(max, s);
                double z = 0;
                foreach (float s in y)
                    z += Math.Exp(s - max);
                nll += max + Math.Log(z) - y[target];
                words++;
                Array.Copy(context, 1, context, 0, ContextSize - 1);
                context[^1] = target;
            }
        }
        if (words == 0)
            ThrowHelper.InvalidOperation(op, "the held-out text has no words");
        return Math.Exp(nll / words);
    }

    /// <summary>Frees C.</summary>
    public void Dispose() => Embedding.Dispose();
}
