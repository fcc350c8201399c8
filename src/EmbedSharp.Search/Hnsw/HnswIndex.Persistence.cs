using System.Buffers.Binary;
using System.Runtime.InteropServices;
using EmbedSharp.Diagnostics;

namespace EmbedSharp.Search.Hnsw;

public sealed unsafe partial class HnswIndex
{
    private const uint Magic = 0x534E4845; // "EHNS" little-endian
    private const int Version = 1;
    private const int HeaderBytes = 64;

    // File layout (little-endian), sections in this order, each starting where the previous ends:
    //   header (64 bytes): magic "EHNS", version, metric, Dims, M, EfConstruction, node count, max level,
    //     entry node, NumEmbeddings, live count, EfSearch, upper-link int count (int64), seed (uint64), reserved
    //   vectors: count × Dims float32          (64-byte aligned: the header is 64 bytes)
    //   layer-0 links: count × (2M + 1) int32  (count, then links)
    //   labels: count int32 (node → id)
    //   levels: count bytes, then zero padding to a multiple of 4
    //   upper links: for each node with level L > 0, L × (M + 1) int32
    //   tombstones: ⌈count / 64⌉ uint64
    // The reader checks every field and link before any search can touch them.

    /// <inheritdoc/>
    public void Save(Stream destination)
    {
        const string op = "hnsw.save";
        Guard.NotNull(op, destination);
        ThrowIfDisposed(op);
        long upperInts = 0;
        for (int i = 0; i < _count; i++)
            upperInts += _levels[i] * (long)(_m + 1);
        var header = new byte[HeaderBytes];
        var h = header.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(h, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(h[4..], Version);
        BinaryPrimitives.WriteInt32LittleEndian(h[8..], (int)Metric);
        BinaryPrimitives.WriteInt32LittleEndian(h[12..], Dims);
        BinaryPrimitives.WriteInt32LittleEndian(h[16..], _m);
        BinaryPrimitives.WriteInt32LittleEndian(h[20..], Options.EfConstruction);
        BinaryPrimitives.WriteInt32LittleEndian(h[24..], _count);
        BinaryPrimitives.WriteInt32LittleEndian(h[28..], _maxLevel);
        BinaryPrimitives.WriteInt32LittleEndian(h[32..], _entry);
        BinaryPrimitives.WriteInt32LittleEndian(h[36..], _numEmbeddings);
        BinaryPrimitives.WriteInt32LittleEndian(h[40..], _live);
        BinaryPrimitives.WriteInt32LittleEndian(h[44..], EfSearch);
        BinaryPrimitives.WriteInt64LittleEndian(h[48..], upperInts);
        BinaryPrimitives.WriteUInt64LittleEndian(h[56..], Options.Seed);
        destination.Write(header);
        if (!BitConverter.IsLittleEndian)
            ThrowHelper.NotSupported(op, "index files are little-endian; this machine is big-endian");
        WriteChunked(destination, (byte*)_vectors, (long)_count * Dims * 4);
        WriteChunked(destination, (byte*)_links0, (long)_count * (_m0 + 1) * 4);
        destination.Write(MemoryMarshal.AsBytes(_labels.AsSpan(0, _count)));
        destination.Write(_levels.AsSpan(0, _count));
        destination.Write(new byte[(4 - _count % 4) % 4]);
        for (int i = 0; i < _count; i++)
        {
            if (_levels[i] > 0)
                destination.Write(MemoryMarshal.AsBytes(_upper[i].AsSpan()));
        }
        destination.Write(MemoryMarshal.AsBytes(_deleted.AsSpan(0, (_count + 63) / 64)));
    }

    /// <summary>Saves to <paramref name="path"/> atomically (a temporary file renamed over the target).</summary>
    public void SaveFile(string path) => AtomicFile.Write(Guard.NotNull("hnsw.save", path), Save);

    private static void WriteChunked(Stream destination, byte* p, long length)
    {
        for (long done = 0; done < length;)
        {
            int n = (int)Math.Min(1 << 24, length - done);
            destination.Write(new ReadOnlySpan<byte>(p + done, n));
            done += n;
        }
    }

    /// <summary>
    /// Opens an index file written by <see cref="Save"/>. With <paramref name="mapped"/> (the default) the
    /// vectors and layer-0 links are read straight from a read-only memory mapping — nothing is copied
    /// until the first change — after the header, every link, label, level and tombstone has been checked.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not an HNSW index, or is truncated, inconsistent or hostile; the message names the file and byte.</exception>
    public static HnswIndex Open(string path, bool mapped = true)
    {
        const string op = "hnsw.open";
        Guard.NotNull(op, path);
        long length = new FileInfo(path).Length;
        if (length < HeaderBytes)
            throw new InvalidDataException(ThrowHelper.Format(op, $"{path} at byte {length}: the file has {length} bytes, fewer than the {HeaderBytes}-byte header (truncated or not an index)"));
        var mapping = new MappedIndexFile(path);
        try
        {
            var index = FromMapping(mapping, path);
            if (!mapped)
                index.Materialize();
            return index;
        }
        catch
        {
            mapping.Dispose();
            throw;
        }
    }

    /// <summary>Reads an index from a stream (copied into memory; use <see cref="Open(string, bool)"/> to map a file).</summary>
    /// <exception cref="InvalidDataException">As <see cref="Open(string, bool)"/>.</exception>
    public static HnswIndex Load(Stream source)
    {
        Guard.NotNull("hnsw.open", source);
        string temp = Path.Combine(Path.GetTempPath(), $"embedsharp-hnsw-{Guid.NewGuid():N}.tmp");
        try
        {
            using (var f = File.Create(temp))
                source.CopyTo(f);
            return Open(temp, mapped: false);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private static HnswIndex FromMapping(MappedIndexFile file, string path)
    {
        const string op = "hnsw.open";
        void Bad(long at, string text) => throw new InvalidDataException(ThrowHelper.Format(op, $"{path} at byte {at}: {text}"));
        if (file.Length < HeaderBytes)
            Bad(file.Length, $"the file has {file.Length} bytes, fewer than the {HeaderBytes}-byte header (truncated or not an index)");
        var h = file.Span(0, HeaderBytes);
        if (BinaryPrimitives.ReadUInt32LittleEndian(h) != Magic)
            Bad(0, "not an HNSW index (magic is not EHNS)");
        int version = BinaryPrimitives.ReadInt32LittleEndian(h[4..]);
        if (version != Version)
            Bad(4, $"version {version} is not supported; valid: {Version}");
        int metric = BinaryPrimitives.ReadInt32LittleEndian(h[8..]);
        if (!Enum.IsDefined((SimilarityMetric)metric))
            Bad(8, $"metric {metric} is unknown; valid: 0 Cosine, 1 Dot, 2 L2");
        int dims = BinaryPrimitives.ReadInt32LittleEndian(h[12..]);
        int m = BinaryPrimitives.ReadInt32LittleEndian(h[16..]);
        int efc = BinaryPrimitives.ReadInt32LittleEndian(h[20..]);
        int count = BinaryPrimitives.ReadInt32LittleEndian(h[24..]);
        int maxLevel = BinaryPrimitives.ReadInt32LittleEndian(h[28..]);
        int entry = BinaryPrimitives.ReadInt32LittleEndian(h[32..]);
        int numEmbeddings = BinaryPrimitives.ReadInt32LittleEndian(h[36..]);
        int live = BinaryPrimitives.ReadInt32LittleEndian(h[40..]);
        int efSearch = BinaryPrimitives.ReadInt32LittleEndian(h[44..]);
        long upperInts = BinaryPrimitives.ReadInt64LittleEndian(h[48..]);
        ulong seed = BinaryPrimitives.ReadUInt64LittleEndian(h[56..]);
        if (dims < 1 || dims > 1 << 16)
            Bad(12, $"Dims {dims} is out of range 1..65536");
        if (m < 2 || m > 256)
            Bad(16, $"M {m} is out of range 2..256");
        if (efc < 1 || efc > 1 << 20 || efSearch < 1 || efSearch > 1 << 20)
            Bad(20, $"EfConstruction {efc} / EfSearch {efSearch} out of range 1..1048576");
        if (count < 0 || numEmbeddings < count || live < 0 || live > count)
            Bad(24, $"node count {count}, NumEmbeddings {numEmbeddings} and live count {live} are inconsistent (0 ≤ live ≤ count ≤ NumEmbeddings)");
        if (count == 0 ? entry != -1 || maxLevel != -1 : (uint)entry >= (uint)count || maxLevel < 0 || maxLevel > 30)
            Bad(28, $"entry node {entry} / max level {maxLevel} do not fit {count} nodes");
        if (upperInts < 0)
            Bad(48, $"upper-link count {upperInts} is negative");
        int m0 = 2 * m;
        long vectors = HeaderBytes;
        long links0 = vectors + (long)count * dims * 4;
        long labels = links0 + (long)count * (m0 + 1) * 4;
        long levels = labels + (long)count * 4;
        long upper = levels + count + (4 - count % 4) % 4;
        long tomb = upper + upperInts * 4;
        long end = tomb + (count + 63L) / 64 * 8;
        if (end != file.Length)
            Bad(Math.Min(end, file.Length), $"the header describes {end} bytes but the file has {file.Length} (truncated or inconsistent)");

        var index = new HnswIndex(dims, (SimilarityMetric)metric, new HnswOptions { M = m, EfConstruction = efc, EfSearch = efSearch, Seed = seed });
        index._mapping = file;
        index._vectors = (float*)(file.Pointer + vectors);
        index._links0 = (int*)(file.Pointer + links0);
        index._capacity = count;
        index._count = count;
        index._live = live;
        index._numEmbeddings = numEmbeddings;
        index._entry = entry;
        index._maxLevel = maxLevel;
        index._levels = file.Span(levels, count).ToArray();
        index._labels = MemoryMarshal.Cast<byte, int>(file.Span(labels, count * 4)).ToArray();
        index._deleted = MemoryMarshal.Cast<byte, ulong>(file.Span(tomb, (int)((count + 63L) / 64 * 8))).ToArray();
        index._upper = new int[]?[count];
        index._internalOf = new int[Math.Max(numEmbeddings, 1)];
        Array.Fill(index._internalOf, -1);
        long upperAt = upper, liveSeen = 0;
        for (int node = 0; node < count; node++)
        {
            int level = index._levels[node];
            if (level > maxLevel)
                Bad(levels + node, $"node {node} has level {level} above the max level {maxLevel}");
            int label = index._labels[node];
            if ((uint)label >= (uint)numEmbeddings)
                Bad(labels + node * 4L, $"node {node} has id {label} outside 0..{numEmbeddings - 1}");
            if (!index.IsDeleted(node))
            {
                if (index._internalOf[label] >= 0)
                    Bad(labels + node * 4L, $"id {label} labels two live nodes");
                index._internalOf[label] = node;
                liveSeen++;
            }
            long nodeUpperAt = upperAt;
            if (level > 0)
            {
                long ints = level * (long)(m + 1);
                if (upperAt + ints * 4 > tomb)
                    Bad(upperAt, "the upper-layer links overrun their section");
                var arr = index.NewUpper(level);
                MemoryMarshal.Cast<byte, int>(file.Span(upperAt, (int)(ints * 4))).CopyTo(arr);
                index._upper[node] = arr;
                upperAt += ints * 4;
            }
            for (int lc = 0; lc <= level; lc++)
            {
                int* l = index.Links(node, lc);
                int cap = lc == 0 ? m0 : m;
                long at = lc == 0 ? links0 + (long)node * (m0 + 1) * 4 : nodeUpperAt + (lc - 1) * (m + 1) * 4L;
                if ((uint)l[0] > (uint)cap)
                    Bad(at, $"node {node} claims {l[0]} links on layer {lc}; at most {cap}");
                for (int i = 1; i <= l[0]; i++)
                {
                    if ((uint)l[i] >= (uint)count || index._levels[l[i]] < lc)
                        Bad(at + i * 4L, $"node {node} links to node {l[i]} on layer {lc}, which does not exist there");
                }
            }
        }
        if (upperAt != tomb)
            Bad(upperAt, $"the levels account for {(upperAt - upper) / 4} upper-link ints but the header says {upperInts}");
        if ((count & 63) != 0 && count > 0 && (index._deleted[^1] >> (count & 63)) != 0)
            Bad(tomb, "the tombstone bit set marks nodes past the node count");
        if (liveSeen != live)
            Bad(40, $"the header says {live} live nodes but the tombstones leave {liveSeen}");
        if (count > 0 && index._levels[entry] != maxLevel)
            Bad(32, $"entry node {entry} has level {index._levels[entry]}, not the max level {maxLevel}");
        return index;
    }
}
