using System.Runtime.CompilerServices;

namespace EmbedSharp.Training.Common;

/// <summary>
/// Tabulated σ(x) = 1/(1+e^−x) and log σ(x) on [−MaxExp, MaxExp] (word2vec's trick): the inner loops
/// look values up instead of calling <c>exp</c>/<c>log</c>. Outside the range σ is taken as 0 or 1.
/// </summary>
internal static class SigmoidTable
{
    /// <summary>Half-width of the tabulated range (word2vec's <c>MAX_EXP</c>).</summary>
    public const float MaxExp = 6f;
    private const int Size = 1024;
    private const float Scale = Size / (2 * MaxExp);
    private static readonly float[] Sigmoids = Build(static x => (float)(1 / (1 + Math.Exp(-x))));
    private static readonly float[] LogSigmoids = Build(static x => (float)-Math.Log(1 + Math.Exp(-x)));

    private static float[] Build(Func<double, float> f)
    {
        var t = new float[Size + 1];
        for (int i = 0; i <= Size; i++)
            t[i] = f((i / (double)Size * 2 - 1) * MaxExp);
        return t;
    }

    /// <summary>σ(x), from the table (0 below −MaxExp, 1 above MaxExp).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sigmoid(float x)
    {
        if (x <= -MaxExp)
            return 0f;
        if (x >= MaxExp)
            return 1f;
        return Sigmoids[(int)((x + MaxExp) * Scale)];
    }

    /// <summary>log σ(x), from the table; clamped to the ends of the range (NaN gives NaN).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float LogSigmoid(float x)
    {
        if (float.IsNaN(x))
            return float.NaN;
        if (x <= -MaxExp)
            return LogSigmoids[0] + (x + MaxExp); // log σ(x) ≈ x for very negative x
        if (x >= MaxExp)
            return 0f;
        return LogSigmoids[(int)((x + MaxExp) * Scale)];
    }
}
