namespace EmbedSharp.Graphs.Models;

/// <summary>Shape and fixed settings of a knowledge-graph model.</summary>
public sealed record KgModelOptions
{
    /// <summary>
    /// The rank: real dimensions for TransE and DistMult, complex dimensions for ComplEx and RotatE (whose
    /// entity rows then hold <c>2 · Dims</c> floats: the real parts, then the imaginary parts). Default 100.
    /// </summary>
    public int Dims { get; init; } = 100;

    /// <summary>
    /// Reciprocal relations (Lacroix et al. 2018): the model holds a second row per relation for
    /// <c>(t, r⁻¹, h)</c>, and head queries <c>(?, r, t)</c> are asked as <c>(t, r⁻¹, ?)</c>. Default false.
    /// </summary>
    public bool InverseRelations { get; init; }

    /// <summary>Margin γ of the distance models (score = γ − distance); null takes the model's default (TransE 0, RotatE 6). Ignored by DistMult and ComplEx.</summary>
    public float? Gamma { get; init; }

    /// <summary>TransE's distance: 1 (L1) or 2 (L2, default).</summary>
    public int Norm { get; init; } = 2;

    /// <summary>Scale of the initial weights; null takes the model's default (see each model).</summary>
    public float? InitScale { get; init; }

    /// <summary>Seed of the initial weights.</summary>
    public ulong Seed { get; init; } = 1;
}
