using System.Buffers.Binary;
using System.Runtime.InteropServices;
using EmbedSharp.Diagnostics;
using EmbedSharp.Quantization;

namespace EmbedSharp.Search.Ivf;

public sealed unsafe partial class IvfIndex : IDisposable
{
    private MappedIndexFile? _mapping;
    private float* _rawMapped;

    private const uint Magic = 0x46564945; // "EIVF"
    private const int Version = 1;
    private const int HeaderBytes = 64;

    // Layout (little-endian): 64-byte header (magic "EIVF", version, metric, Dims, NList, PqM, RerankFactor,
    // NProbe, NumEmbeddings, live count, TrainIterations, MaxPointsPerCentroid, Seed, OpqIterations at
    // byte 56, reserved), the centroids (NList × Dims float32), the product quantizer when PqM > 0
    // (ProductQuantizer.Save) followed by the OPQ rotation (Dims × Dims float32) when OpqIterations > 0,
    // each list as (count int32, ids int32[count], data[count × stride]), the kept float32 vectors
    // when re-ranking (NumEmbeddings × Dims), and the removed-id bit set (⌈NumEmbeddings/64⌉ uint64).

    /// <inheritdoc/>
    public void Save(Stream destination)
    {
        Guard.NotNull("ivf.save", destination);
        var header = new byte[HeaderBytes];
        var h = header.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(h, Magic);
        int[] fields = [Version, (int)Metric, Dims, _lists.Length, Options.PqM, Options.RerankFactor, NProbe, _numEmbeddings, _live, Options.TrainIterations, Options.MaxPointsPerCentroid];
        for (int i = 0; i < fields.Length; i++)
            BinaryPrimitives.WriteInt32LittleEndian(h[(4 + 4 * i)..], fields[i]);
        BinaryPrimitives.WriteUInt64LittleEndian(h[48..], Options.Seed);
        BinaryPrimitives.WriteInt32LittleEndian(h[56..], Options.OpqIterations);
        destination.Write(header);
        destination.Write(MemoryMarshal.AsBytes(_centroids.AsSpan()));
        _pq?.Save(destination);
        if (_rotation is not null)
            destination.Write(MemoryMarshal.AsBytes(_rotation.AsSpan()));
        int stride = _pq?.M ?? Dims * 4;
        Span<byte> count = stackalloc byte[4];
        foreach (var list in _lists)
        {
            BinaryPrimitives.WriteInt32LittleEndian(count, list.Count);
            destination.Write(count);
            destination.Write(MemoryMarshal.AsBytes(list.IdSpan));
            destination.Write(list.DataSpan(stride));
        }
        if (KeepsVectors)
            destination.Write(MemoryMarshal.AsBytes(RawSpan[..(_numEmbeddings * Dims)]));
        destination.Write(MemoryMarshal.AsBytes(_removed.AsSpan(0, (_numEmbeddings + 63) / 64)));
    }

    /// <summary>Saves to <paramref name="path"/> atomically.</summary>
    public void SaveFile(string path) => AtomicFile.Write(Guard.NotNull("ivf.save", path), Save);

    /// <summary>
    /// Opens an index file written by <see cref="SaveFile"/>. With <paramref name="mapped"/> (the default)
    /// the lists' ids and codes (and kept vectors) are read in place from a read-only memory mapping —
    /// nothing is copied until the first change — after the header, every size, id and the removed-id
    /// bits have been checked (list contents are not scanned for NaN, which would read the whole file;
    /// a NaN there only makes scores NaN). Dispose the index to close the mapping.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not an IVF index, or is truncated or inconsistent (the message names the file and byte).</exception>
    public static IvfIndex Open(string path, bool mapped = true)
    {
        Guard.NotNull("ivf.open", path);
        if (!mapped)
        {
            using var f = File.OpenRead(path);
            return Load(f, path);
        }
        long length = new FileInfo(path).Length;
        if (length < HeaderBytes)
            throw new InvalidDataException(ThrowHelper.Format("ivf.open", $"{path} at byte {length}: the file has {length} bytes, fewer than the {HeaderBytes}-byte header (truncated or not an index)"));
        var mapping = new MappedIndexFile(path);
        try
        {
            using var view = new UnmanagedMemoryStream(mapping.Pointer, mapping.Length);
            return Parse(view, path, mapping);
        }
        catch
        {
            mapping.Dispose();
            throw;
        }
    }

    /// <summary>Opens an index file by memory mapping (as <see cref="Open(string, bool)"/> with mapped true).</summary>
    public static IvfIndex Open(string path) => Open(path, mapped: true);

    /// <summary>Whether the lists are read from a memory-mapped file (until the first change).</summary>
    public bool IsMapped => _mapping is not null;

    /// <summary>Closes the memory mapping of an index opened mapped; other indexes hold no native resources.</summary>
    public void Dispose()
    {
        if (_mapping is null)
            return;
        _mapping.Dispose();
        _mapping = null;
        _rawMapped = null;
        foreach (var list in _lists)
            list.Detach();
        _numEmbeddings = _live = 0;
        Array.Clear(_listOf);
    }

    private ReadOnlySpan<float> RawSpan => _rawMapped != null ? new ReadOnlySpan<float>(_rawMapped, _numEmbeddings * Dims) : _raw;

    /// <summary>Copies mapped lists and kept vectors into owned memory before the first change.</summary>
    private void Materialize()
    {
        if (_mapping is null)
            return;
        int stride = _pq?.M ?? Dims * 4;
        foreach (var list in _lists)
            list.Materialize(stride);
        if (KeepsVectors)
        {
            var raw = new float[checked(_listOf.Length * Dims)];
            RawSpan.CopyTo(raw);
            _raw = raw;
        }
        _rawMapped = null;
        _mapping.Dispose();
        _mapping = null;
    }

    /// <summary>Reads an index written by <see cref="Save"/>; every size is checked against the bytes that remain before it is allocated.</summary>
    /// <exception cref="InvalidDataException">As <see cref="Open(string, bool)"/>.</exception>
    public static IvfIndex Load(Stream source, string name = "stream")
    {
        Guard.NotNull("ivf.open", source);
        return Parse(source, name, null);
    }

    private static IvfIndex Parse(Stream source, string name, MappedIndexFile? mapping)
    {
        const string op = "ivf.open";
        if (!source.CanSeek)
        {
            var copy = new MemoryStream();
            source.CopyTo(copy);
            copy.Position = 0;
            source = copy;
        }
        long start = source.Position;
        long Remaining() => source.Length - source.Position;
        void Bad(string text) => throw new InvalidDataException(ThrowHelper.Format(op, $"{name} at byte {source.Position - start}: {text}"));
        byte[] Read(long bytes, string what)
        {
            if (bytes < 0 || bytes > Remaining())
                Bad($"{what} needs {bytes} bytes but {Remaining()} remain (truncated or inconsistent)");
            var buffer = new byte[bytes];
            source.ReadExactly(buffer);
            return buffer;
        }
        byte* Skip(long bytes, string what)
        {
            if (bytes < 0 || bytes > Remaining())
                Bad($"{what} needs {bytes} bytes but {Remaining()} remain (truncated or inconsistent)");
            byte* at = mapping!.Pointer + source.Position;
            source.Seek(bytes, SeekOrigin.Current);
            return at;
        }
        var h = Read(HeaderBytes, "the header");
        if (BinaryPrimitives.ReadUInt32LittleEndian(h) != Magic)
            Bad("not an IVF index (magic is not EIVF)");
        int F(int i) => BinaryPrimitives.ReadInt32LittleEndian(h.AsSpan(4 + 4 * i));
        if (F(0) != Version)
            Bad($"version {F(0)} is not supported; valid: {Version}");
        var metric = (SimilarityMetric)F(1);
        if (!Enum.IsDefined(metric))
            Bad($"metric {F(1)} is unknown; valid: 0 Cosine, 1 Dot, 2 L2");
        int dims = F(2), nlist = F(3), numEmbeddings = F(7), live = F(8);
        if (dims < 1 || dims > 1 << 16)
            Bad($"Dims {dims} is out of range 1..65536");
        IvfOptions options;
        try
        {
            options = new IvfOptions { NList = nlist, PqM = F(4), RerankFactor = F(5), NProbe = F(6), TrainIterations = F(9), MaxPointsPerCentroid = F(10), OpqIterations = F(13), Seed = BinaryPrimitives.ReadUInt64LittleEndian(h.AsSpan(48)) };
            options.Validate(op, dims);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException(ThrowHelper.Format(op, $"{name} at byte 16: an option is out of range ({e.Message})"), e);
        }
        if (numEmbeddings < 0 || live < 0 || live > numEmbeddings || numEmbeddings > Remaining() * 8)
            Bad($"NumEmbeddings {numEmbeddings} / live {live} are inconsistent with {Remaining()} remaining bytes");
        var centroids = MemoryMarshal.Cast<byte, float>(Read((long)nlist * dims * 4, "the centroids")).ToArray();
        if (Distances.FirstNonFinite(centroids) >= 0)
            Bad("a centroid holds NaN or infinity");
        ProductQuantizer? pq = null;
        if (options.PqM > 0)
        {
            if (Remaining() < 12 + 256L * dims * 4)
                Bad($"the product quantizer needs {12 + 256L * dims * 4} bytes but {Remaining()} remain (truncated)");
            pq = ProductQuantizer.Load(source);
            if (pq.Dims != dims || pq.M != options.PqM)
                Bad($"the product quantizer is {pq.Dims} dims × {pq.M} but the header says {dims} × {options.PqM}");
        }
        float[]? rotation = null;
        if (options.OpqIterations > 0)
        {
            rotation = MemoryMarshal.Cast<byte, float>(Read((long)dims * dims * 4, "the OPQ rotation")).ToArray();
            if (Distances.FirstNonFinite(rotation) >= 0)
                Bad("the OPQ rotation holds NaN or infinity");
        }
        var index = new IvfIndex(dims, metric, options, centroids, pq, rotation) { _mapping = mapping };
        index.Grow(numEmbeddings);
        Array.Fill(index._listOf, -1);
        int stride = pq?.M ?? dims * 4;
        long total = 0;
        for (int l = 0; l < nlist; l++)
        {
            int count = BinaryPrimitives.ReadInt32LittleEndian(Read(4, $"list {l}'s count"));
            if (count < 0 || total + count > numEmbeddings)
                Bad($"list {l} claims {count} vectors; the lists may hold {numEmbeddings - total} more");
            InvertedList list;
            if (mapping is not null)
            {
                list = new InvertedList { MappedIds = (int*)Skip(count * 4L, $"list {l}'s ids"), Count = count };
                list.MappedData = Skip((long)count * stride, $"list {l}'s vectors");
            }
            else
            {
                list = new InvertedList { Ids = MemoryMarshal.Cast<byte, int>(Read(count * 4L, $"list {l}'s ids")).ToArray(), Count = count };
                list.Data = Read((long)count * stride, $"list {l}'s vectors");
                if (pq is null && Distances.FirstNonFinite(MemoryMarshal.Cast<byte, float>(list.Data)) >= 0)
                    Bad($"list {l} holds a vector with NaN or infinity");
            }
            foreach (int id in list.IdSpan)
            {
                if ((uint)id >= (uint)numEmbeddings || index._listOf[id] >= 0)
                    Bad($"list {l} holds id {id}, which is out of range 0..{numEmbeddings - 1} or already in a list");
                index._listOf[id] = l;
            }
            index._lists[l] = list;
            total += count;
        }
        if (index.KeepsVectors && mapping is not null)
        {
            index._rawMapped = (float*)Skip((long)numEmbeddings * dims * 4, "the kept vectors");
        }
        else if (index.KeepsVectors)
        {
            var raw = MemoryMarshal.Cast<byte, float>(Read((long)numEmbeddings * dims * 4, "the kept vectors"));
            if (Distances.FirstNonFinite(raw) >= 0)
                Bad("a kept vector holds NaN or infinity");
            raw.CopyTo(index._raw);
        }
        var removed = MemoryMarshal.Cast<byte, ulong>(Read((numEmbeddings + 63L) / 64 * 8, "the removed-id bits"));
        removed.CopyTo(index._removed);
        int liveSeen = 0;
        for (int id = 0; id < numEmbeddings; id++)
        {
            bool isRemoved = (index._removed[id >> 6] & (1UL << id)) != 0;
            if (!isRemoved)
            {
                if (index._listOf[id] < 0)
                    Bad($"id {id} is live but in no list");
                liveSeen++;
            }
        }
        if ((numEmbeddings & 63) != 0 && (index._removed[numEmbeddings >> 6] >> (numEmbeddings & 63)) != 0)
            Bad("the removed-id bits mark ids past NumEmbeddings");
        if (liveSeen != live)
            Bad($"the header says {live} live vectors but the removed-id bits leave {liveSeen}");
        index._numEmbeddings = numEmbeddings;
        index._live = live;
        return index;
    }
}
