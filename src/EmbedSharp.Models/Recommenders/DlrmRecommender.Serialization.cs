using System.Runtime.InteropServices;
using System.Text;
using EmbedSharp.Diagnostics;
using EmbedSharp.Models.Data;
using EmbedSharp.Tables;

namespace EmbedSharp.Models.Recommenders;

public sealed partial class DlrmRecommender
{
    private static ReadOnlySpan<byte> Magic => "ESDLRM01"u8;

    /// <summary>Whether <paramref name="header"/> (the first 8 bytes of a file) starts a saved DLRM recommender.</summary>
    public static bool IsDlrmFile(ReadOnlySpan<byte> header) => header.StartsWith(Magic);

    /// <summary>
    /// Writes the model (little-endian, strings length-prefixed UTF-8): magic <c>ESDLRM01</c>, click
    /// threshold, Dims, MLP widths, the early-stopping record (best epoch, epochs run, validation AUC),
    /// the trained user and item ids, the occupation and zip-prefix vocabularies, every known user's and
    /// movie's side features, then each MLP parameter (length + values) and each table's rows.
    /// </summary>
    public void Save(Stream stream)
    {
        Guard.NotNull("dlrm.save", stream);
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(ClickThreshold);
        w.Write(Model.Dims);
        WriteInts(w, [.. BottomHidden]);
        WriteInts(w, [.. TopHidden]);
        w.Write(BestEpoch);
        w.Write(EpochsRun);
        w.Write(ValidationAuc);
        WriteInts(w, TrainedUsers.Ids);
        WriteInts(w, TrainedItems.Ids);
        WriteStrings(w, Occupations);
        WriteStrings(w, Zip3s);
        w.Write(_users.Count);
        foreach (var (id, u) in _users.OrderBy(kv => kv.Key))
        {
            w.Write(id);
            w.Write(u.Occupation);
            w.Write(u.Zip3);
            w.Write(u.Gender);
            w.Write(u.Age);
        }
        w.Write(_items.Count);
        foreach (var (id, i) in _items.OrderBy(kv => kv.Key))
        {
            w.Write(id);
            w.Write(i.Year);
            WriteInts(w, i.Genres);
        }
        foreach (var p in Model.DenseParameters)
        {
            w.Write(p.Length);
            w.Write(MemoryMarshal.AsBytes(p.Value.AsSpan()));
        }
        foreach (var c in Model.Tables.Configs)
            w.Write(MemoryMarshal.AsBytes(Model.Tables[c.Name].ToArray().AsSpan()));
    }

    private static void WriteInts(BinaryWriter w, int[] values)
    {
        w.Write(values.Length);
        w.Write(MemoryMarshal.AsBytes(values.AsSpan()));
    }

    private static void WriteStrings(BinaryWriter w, IReadOnlyList<string> values)
    {
        w.Write(values.Count);
        foreach (string v in values)
            w.Write(v);
    }

    /// <summary>
    /// Reads what <see cref="Save"/> wrote. Every count is checked against the bytes that remain before
    /// anything is allocated, and every stored row index against its vocabulary.
    /// </summary>
    /// <exception cref="InvalidDataException">Not a DLRM model, truncated or inconsistent (the message gives the byte offset).</exception>
    public static DlrmRecommender Load(Stream stream)
    {
        using var file = ModelFileReader.Open("dlrm.load", stream);
        stream = file.Stream;
        var r = file.Reader;
        InvalidDataException Bad(string problem) => file.Bad(problem);
        int Count(string what, long bytesEach, long max = int.MaxValue) => file.Count(what, bytesEach, max);
        int[] Ints(string what, long max = int.MaxValue)
        {
            int n = Count(what, 4, max);
            var a = new int[n];
            stream.ReadExactly(MemoryMarshal.AsBytes(a.AsSpan()));
            return a;
        }
        string[] Strings(string what)
        {
            int n = Count(what, 1);
            var a = new string[n];
            for (int k = 0; k < n; k++)
                a[k] = r.ReadString();
            if (a.Distinct(StringComparer.Ordinal).Count() != n)
                throw Bad($"the {what} vocabulary lists a value twice");
            return a;
        }
        try
        {
            if (file.Length < 8 || !r.ReadBytes(8).AsSpan().SequenceEqual(Magic))
                throw Bad("not an EmbedSharp DLRM model (magic ESDLRM01 missing)");
            float threshold = r.ReadSingle();
            int dims = r.ReadInt32();
            if (!float.IsFinite(threshold) || dims < 1 || dims > 1024)
                throw Bad($"click threshold {threshold} is not finite or Dims {dims} is outside 1..1024");
            int[] bottom = Ints("bottom layer", 64), top = Ints("top layer", 64);
            if (bottom.Concat(top).Any(h => h < 1 || h > 65536))
                throw Bad("a hidden width is outside 1..65536");
            int bestEpoch = r.ReadInt32(), epochsRun = r.ReadInt32();
            double valAuc = r.ReadDouble();
            if (bestEpoch < 0 || epochsRun < bestEpoch)
                throw Bad($"best epoch {bestEpoch} and epochs run {epochsRun} are inconsistent");
            int[] userIds = Ints("user"), itemIds = Ints("item");
            var users = new IdMap(userIds);
            var items = new IdMap(itemIds);
            if (users.Count != userIds.Length || items.Count != itemIds.Length)
                throw Bad("a trained user or item id is listed twice");
            string[] occupations = Strings("occupation"), zip3s = Strings("zip prefix");
            int nu = Count("known user", 20);
            var userSide = new Dictionary<int, UserSide>(nu);
            for (int k = 0; k < nu; k++)
            {
                int id = r.ReadInt32();
                var side = new UserSide(r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadSingle());
                if ((uint)side.Occupation > (uint)occupations.Length || (uint)side.Zip3 > (uint)zip3s.Length || (uint)side.Gender > 2
                    || !float.IsFinite(side.Age) || !userSide.TryAdd(id, side))
                    throw Bad($"user {id}'s side features are out of range or listed twice");
            }
            int ni = Count("known item", 12);
            var itemSide = new Dictionary<int, ItemSide>(ni);
            for (int k = 0; k < ni; k++)
            {
                int id = r.ReadInt32();
                float year = r.ReadSingle();
                int[] genres = Ints("genre", MovieLens.GenreCount);
                if (!float.IsFinite(year) || genres.Any(g => (uint)g >= MovieLens.GenreCount) || !itemSide.TryAdd(id, new ItemSide(year, genres)))
                    throw Bad($"item {id}'s side features are out of range or listed twice");
            }
            var tables = new TableConfig[]
            {
                new("user", users.Count + 1, dims, ["user"]),
                new("item", items.Count + 1, dims, ["item"]),
                new("occupation", occupations.Length + 1, dims, ["occupation"]),
                new("zip3", zip3s.Length + 1, dims, ["zip3"]),
                new("gender", 3, dims, ["gender"]),
                new("genre", MovieLens.GenreCount, dims, ["genre"]),
            };
            long tableBytes = 4L * tables.Sum(c => (long)c.NumEmbeddings * c.Dims);
            if (tableBytes > stream.Length - stream.Position)
                throw Bad("the embedding tables are longer than the file");
            var model = new DlrmRecommender(new Dlrm(DenseFeatures, tables, bottom, top, 0), threshold, users, items, occupations, zip3s,
                userSide, itemSide, bottom, top)
            {
                BestEpoch = bestEpoch, EpochsRun = epochsRun, ValidationAuc = valAuc,
            };
            try
            {
                foreach (var p in model.Model.DenseParameters)
                {
                    int n = r.ReadInt32();
                    if (n != p.Length)
                        throw Bad($"parameter '{p.Name}' has {n} values but the architecture needs {p.Length}");
                    stream.ReadExactly(MemoryMarshal.AsBytes(p.Value.AsSpan()));
                }
                foreach (var c in tables)
                    model.Model.Tables[c.Name].CopyFrom(file.Floats((long)c.NumEmbeddings * c.Dims));
                file.ExpectEnd();
                return model;
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }
        catch (EndOfStreamException)
        {
            throw Bad("the file ends early (truncated)");
        }
    }
}
