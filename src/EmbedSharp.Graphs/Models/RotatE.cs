using EmbedSharp.Initializers;

namespace EmbedSharp.Graphs.Models;

/// <summary>
/// RotatE (Sun et al. 2019): <c>f(h, r, t) = γ − Σₖ |hₖ rₖ − tₖ|</c> with complex entity coordinates (rows
/// [re | im], <c>2 · Dims</c> floats) and relations of modulus 1 kept as phases θ (<c>rₖ = e^{iθₖ}</c>, one
/// float each), so the modulus constraint holds by construction. Tail query <c>q = h ∘ r</c>, head query
/// <c>q = t ∘ conj(r)</c> (the same distance since |r| = 1). Entities start as uniform(±(γ + 2)/Dims), phases as
/// uniform(−π, π), as in the paper's code. γ is 6 by default.
/// </summary>
public sealed class RotatE : KgModel
{
    internal RotatE(int numEntities, int numRelations, KgModelOptions options)
        : base("rotate", numEntities, numRelations, 2 * options.Dims, options.Dims, options, ScoreKind.ComplexL1, options.Gamma ?? 6)
    {
    }

    /// <inheritdoc/>
    public override bool IsComplex => true;

    private protected override Initializer EntityInitializer()
    {
        float bound = Options.InitScale ?? ((Options.Gamma ?? 6) + 2) / Options.Dims;
        return Initializer.Uniform(-bound, bound);
    }

    private protected override Initializer RelationInitializer() => Initializer.Uniform(-Math.PI, Math.PI);

    internal override void Query(ReadOnlySpan<float> a, ReadOnlySpan<float> theta, bool headSide, Span<float> q)
    {
        int d = theta.Length;
        for (int k = 0; k < d; k++)
        {
            var (s, c) = MathF.SinCos(theta[k]);
            if (headSide)
                s = -s;
            float ar = a[k], ai = a[d + k];
            q[k] = ar * c - ai * s;
            q[d + k] = ar * s + ai * c;
        }
    }

    internal override void QueryBackward(ReadOnlySpan<float> a, ReadOnlySpan<float> theta, bool headSide, ReadOnlySpan<float> gq, Span<float> gA, Span<float> gTheta)
    {
        int d = theta.Length;
        for (int k = 0; k < d; k++)
        {
            var (s, c) = MathF.SinCos(theta[k]);
            float sign = 1;
            if (headSide)
            {
                s = -s;
                sign = -1;
            }
            float ar = a[k], ai = a[d + k], gr = gq[k], gi = gq[d + k];
            float qr = ar * c - ai * s, qi = ar * s + ai * c;
            gA[k] += gr * c + gi * s;
            gA[d + k] += -gr * s + gi * c;
            gTheta[k] += sign * (-gr * qi + gi * qr);
        }
    }
}
