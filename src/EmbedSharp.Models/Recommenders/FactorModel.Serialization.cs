using System.Runtime.InteropServices;
using System.Text;
using EmbedSharp.Diagnostics;
using EmbedSharp.Models.Data;

namespace EmbedSharp.Models.Recommenders;

public sealed partial class FactorModel
{
    private static ReadOnlySpan<byte> Magic => "ESRECM02"u8;

    // Version 1 (ESRECM01) lacked the regularization exponent (read as 0).
    private static ReadOnlySpan<byte> MagicV1 => "ESRECM01"u8;

    /// <summary>
    /// Writes the model (little-endian): magic <c>ESRECM02</c>, a header (kind, factors, users, items,
    /// seen interactions, μ, rating scale, λ, α, ν, whether SVD++'s y follows), then raw ids, factors,
    /// biases, y, and the users' training items (CSR) that recommending excludes.
    /// </summary>
    public void Save(Stream stream)
    {
        Guard.NotNull("recommender.save", stream);
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write((int)Kind);
        w.Write(Factors);
        w.Write(Users.Count);
        w.Write(Items.Count);
        w.Write(SeenItems.Length);
        w.Write(GlobalMean);
        w.Write(MinRating);
        w.Write(MaxRating);
        w.Write(Regularization);
        w.Write(Alpha);
        w.Write(RegularizationExponent);
        w.Write(ImplicitFactors is null ? 0 : 1);
        WriteArray(w, Users.Ids);
        WriteArray(w, Items.Ids);
        WriteArray(w, UserFactors);
        WriteArray(w, ItemFactors);
        WriteArray(w, UserBias);
        WriteArray(w, ItemBias);
        if (ImplicitFactors is not null)
            WriteArray(w, ImplicitFactors);
        WriteArray(w, SeenOffsets);
        WriteArray(w, SeenItems);
        WriteArray(w, SeenValues);
    }

    private static void WriteArray<T>(BinaryWriter w, T[] values) where T : unmanaged =>
        w.Write(MemoryMarshal.AsBytes(values.AsSpan()));

    /// <summary>
    /// Reads what <see cref="Save"/> wrote. Every size in the header is checked against the bytes that
    /// remain before anything is allocated, and the interaction index against the tables.
    /// </summary>
    /// <exception cref="InvalidDataException">Not a model file, or truncated or inconsistent (the message gives the byte offset).</exception>
    public static FactorModel Load(Stream stream)
    {
        using var file = ModelFileReader.Open("recommender.load", stream);
        stream = file.Stream;
        var r = file.Reader;
        long start = stream.Position;
        InvalidDataException Bad(string problem) => file.Bad(problem);
        if (stream.Length - start < 60)
            throw Bad("too short to be an EmbedSharp recommender model (expected a magic and a header of at least 52 bytes)");
        byte[] magic = r.ReadBytes(8);
        bool v1 = magic.AsSpan().SequenceEqual(MagicV1);
        if (!v1 && !magic.AsSpan().SequenceEqual(Magic))
            throw Bad("not an EmbedSharp recommender model (magic ESRECM02 or ESRECM01 missing)");
        if (!v1 && stream.Length - start < 68)
            throw Bad("too short to be an EmbedSharp recommender model (expected magic ESRECM02 and a 60-byte header)");
        int kind = r.ReadInt32(), factors = r.ReadInt32(), users = r.ReadInt32(), items = r.ReadInt32(), seen = r.ReadInt32();
        float mu = r.ReadSingle(), minRating = r.ReadSingle(), maxRating = r.ReadSingle();
        double reg = r.ReadDouble(), alpha = r.ReadDouble(), exponent = v1 ? 0 : r.ReadDouble();
        int hasImplicit = r.ReadInt32();
        if (!Enum.IsDefined((RecommenderKind)kind))
            throw Bad($"unknown model kind {kind}");
        if (factors < 1 || factors > 4096 || users < 0 || items < 0 || seen < 0 || hasImplicit is not (0 or 1))
            throw Bad($"header out of range (factors {factors}, users {users}, items {items}, interactions {seen}, y {hasImplicit})");
        if (!float.IsFinite(mu) || !float.IsFinite(minRating) || !float.IsFinite(maxRating) || minRating > maxRating || !double.IsFinite(reg) || !(alpha > 0) || !(exponent is >= 0 and <= 2))
            throw Bad("header has a non-finite mean, rating scale, regularization, alpha or exponent");
        long needed = 4L * (users + items + (long)users * factors * (1 + 0) + (long)items * factors * (1 + hasImplicit) + users + items + users + 1 + 2L * seen);
        long remaining = stream.Length - stream.Position;
        if (needed != remaining)
            throw Bad($"the header announces {needed} bytes of tables but {remaining} follow (truncated or not this format)");
        int[] userIds = ReadArray<int>(r, users), itemIds = ReadArray<int>(r, items);
        var userMap = new IdMap(userIds);
        var itemMap = new IdMap(itemIds);
        if (userMap.Count != users || itemMap.Count != items)
            throw Bad("a user or item id is listed twice");
        var options = new RecommenderOptions { Kind = (RecommenderKind)kind, Factors = factors, MinRating = minRating, MaxRating = maxRating, Regularization = reg, Alpha = alpha, RegularizationExponent = exponent };
        var model = new FactorModel((RecommenderKind)kind, factors, userMap, itemMap, options) { GlobalMean = mu };
        ReadInto(r, model.UserFactors);
        ReadInto(r, model.ItemFactors);
        ReadInto(r, model.UserBias);
        ReadInto(r, model.ItemBias);
        if (hasImplicit == 1)
        {
            model.ImplicitFactors = new float[(long)items * factors];
            ReadInto(r, model.ImplicitFactors);
        }
        int[] offsets = ReadArray<int>(r, users + 1);
        int[] seenItems = ReadArray<int>(r, seen);
        float[] seenValues = ReadArray<float>(r, seen);
        if (offsets[0] != 0 || offsets[users] != seen)
            throw Bad("the interaction index does not span the interactions");
        for (int u = 0; u < users; u++)
        {
            if (offsets[u + 1] < offsets[u])
                throw Bad($"the interaction index decreases at user row {u}");
            for (int t = offsets[u]; t < offsets[u + 1]; t++)
                if ((uint)seenItems[t] >= (uint)items || (t > offsets[u] && seenItems[t] < seenItems[t - 1]))
                    throw Bad($"user row {u} lists item row {seenItems[t]}, outside 0..{items - 1} or out of order");
        }
        model.SeenOffsets = offsets;
        model.SeenItems = seenItems;
        model.SeenValues = seenValues;
        return model;
    }

    private static T[] ReadArray<T>(BinaryReader r, int count) where T : unmanaged
    {
        var a = new T[count];
        ReadInto(r, a);
        return a;
    }

    private static void ReadInto<T>(BinaryReader r, T[] a) where T : unmanaged
    {
        Span<byte> bytes = MemoryMarshal.AsBytes(a.AsSpan());
        r.BaseStream.ReadExactly(bytes);
    }
}
