using System.Runtime.CompilerServices;
using EmbedSharp.Numerics;
using EmbedSharp.Training.Common;

namespace EmbedSharp.Training.Losses;

/// <summary>
/// The output-layer steps of the word2vec family, written once and shared by the word2vec and fastText
/// workers: for a hidden row h and a target word, each output row u it touches gets the binary logistic
/// step <c>g = lr·(label − σ(h·u))</c>, <c>e += g·u</c>, <c>u += g·h</c> (e is the hidden row's error,
/// which the caller spreads over the input rows). The tools' deliberate differences are type parameters:
/// <see cref="ICollisionPolicy"/> for a negative that equals the target, <see cref="ISaturationPolicy"/>
/// for a saturated tree node. Losses are subtracted into the caller's running sum in order.
/// </summary>
internal static unsafe class LossStep
{
    /// <summary>One binary logistic step of output row <paramref name="u"/>: adds <c>−log σ(±h·u)</c> to the loss and updates u and e.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Binary(float* h, float* u, float label, float lr, float* e, int dims, ref double loss)
    {
        float f = VectorMath.Dot(h, u, dims);
        loss -= SigmoidTable.LogSigmoid(label > 0 ? f : -f);
        VectorMath.AccumulateAndUpdate((label - SigmoidTable.Sigmoid(f)) * lr, h, u, e, dims);
    }
}

/// <summary>What a negative-sampling step does when a drawn negative is the target itself.</summary>
internal interface ICollisionPolicy
{
    /// <summary>True: draw again (fastText, when there is more than one word); false: skip it (word2vec's C tool).</summary>
    static abstract bool Redraw { get; }
}

/// <summary>word2vec: a negative equal to the target is skipped (no redraw).</summary>
internal readonly struct SkipCollision : ICollisionPolicy
{
    public static bool Redraw => false;
}

/// <summary>fastText: a negative equal to the target is drawn again.</summary>
internal readonly struct RedrawCollision : ICollisionPolicy
{
    public static bool Redraw => true;
}

/// <summary>What a hierarchical-softmax step does at a node whose score is saturated (|h·u| ≥ <see cref="SigmoidTable.MaxExp"/>).</summary>
internal interface ISaturationPolicy
{
    /// <summary>True: count its loss but skip its update (word2vec's C tool); false: update it (fastText).</summary>
    static abstract bool SkipsSaturated { get; }
}

/// <summary>word2vec: saturated nodes are not updated.</summary>
internal readonly struct SkipSaturated : ISaturationPolicy
{
    public static bool SkipsSaturated => true;
}

/// <summary>fastText: saturated nodes are updated like any other.</summary>
internal readonly struct KeepSaturated : ISaturationPolicy
{
    public static bool SkipsSaturated => false;
}

/// <summary>
/// The negative-sampling step: the target with label 1, then <c>negative</c> words drawn from the
/// sampler's table with label 0. All draws come first and their output rows are prefetched, so the
/// cache misses overlap with the arithmetic of the earlier rows (the draws use the generator exactly as
/// drawing one at a time would).
/// </summary>
internal readonly unsafe struct NegativeSamplingStep<TCollision> where TCollision : struct, ICollisionPolicy
{
    private readonly int[] _table;
    private readonly int[] _targets;
    private readonly float* _output;
    private readonly int _dims, _negative, _words;

    /// <param name="sampler">The unigram table.</param>
    /// <param name="output">Row 0 of the output table (one row per word).</param>
    /// <param name="dims">Row length.</param>
    /// <param name="negative">Negatives per target.</param>
    /// <param name="words">Vocabulary size (a redraw needs more than one word).</param>
    public NegativeSamplingStep(NegativeSampler sampler, float* output, int dims, int negative, int words)
    {
        _table = sampler.Table;
        _targets = new int[negative + 1];
        _output = output;
        _dims = dims;
        _negative = negative;
        _words = words;
    }

    /// <summary>Applies the step for <paramref name="target"/> with hidden row <paramref name="h"/>, adding the hidden error to <paramref name="e"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Apply(int target, float* h, float* e, float lr, SeededRandom random, ref double loss)
    {
        int[] table = _table;
        int dims = _dims;
        fixed (int* targets = _targets)
        {
            targets[0] = target;
            for (int d = 1; d <= _negative; d++)
            {
                int t;
                do
                    t = table[(int)(((random.NextUInt64() >> 32) * (ulong)table.Length) >> 32)];
                while (TCollision.Redraw && t == target && _words > 1);
                targets[d] = t;
                TableRows.Prefetch(_output + (long)t * dims, dims);
            }
            for (int d = 0; d <= _negative; d++)
            {
                int t = targets[d];
                if (!TCollision.Redraw && d > 0 && t == target)
                    continue;
                LossStep.Binary(h, _output + (long)t * dims, d == 0 ? 1 : 0, lr, e, dims, ref loss);
            }
        }
    }
}

/// <summary>
/// The hierarchical-softmax step: along the target's Huffman path, each inner node's row gets label 1
/// for code bit 0 (σ(h·u) is the branch probability) and 0 for bit 1.
/// </summary>
internal readonly unsafe struct HierarchicalSoftmaxStep<TSaturation> where TSaturation : struct, ISaturationPolicy
{
    private readonly byte[] _codes;
    private readonly int[] _points, _offsets;
    private readonly float* _output;
    private readonly int _dims;

    /// <param name="tree">The Huffman tree over the vocabulary.</param>
    /// <param name="output">Row 0 of the inner-node table.</param>
    /// <param name="dims">Row length.</param>
    public HierarchicalSoftmaxStep(HuffmanTree tree, float* output, int dims)
    {
        _codes = tree.Codes;
        _points = tree.Points;
        _offsets = tree.Offsets;
        _output = output;
        _dims = dims;
    }

    /// <summary>Applies the step for <paramref name="target"/> with hidden row <paramref name="h"/>, adding the hidden error to <paramref name="e"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Apply(int target, float* h, float* e, float lr, ref double loss)
    {
        int dims = _dims;
        for (int k = _offsets[target], to = _offsets[target + 1]; k < to; k++)
        {
            float* u = _output + (long)_points[k] * dims;
            float label = _codes[k] == 0 ? 1 : 0;
            if (TSaturation.SkipsSaturated)
            {
                float f = VectorMath.Dot(h, u, dims);
                loss -= SigmoidTable.LogSigmoid(label > 0 ? f : -f);
                if (f <= -SigmoidTable.MaxExp || f >= SigmoidTable.MaxExp)
                    continue;
                VectorMath.AccumulateAndUpdate((label - SigmoidTable.Sigmoid(f)) * lr, h, u, e, dims);
            }
            else
            {
                LossStep.Binary(h, u, label, lr, e, dims, ref loss);
            }
        }
    }
}
