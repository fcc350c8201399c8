using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;

namespace EmbedSharp.Search.Hnsw;

/// <summary>
/// Hierarchical navigable small-world graph (Malkov &amp; Yashunin 2018): approximate nearest
/// neighbours with the paper's heuristic neighbour selection, multi-threaded build, incremental add,
/// delete with tombstones and a <see cref="Compact"/> step that repairs links and frees memory,
/// filtered search that stays exact at low selectivity, and a file format opened by memory mapping.
/// </summary>
/// <remarks>
/// <para>Layout: vectors are one aligned block of <c>capacity × Dims</c> float32 (unit length for
/// Cosine, so Cosine is ranked as <c>1 − q·x</c>; Dot as <c>−q·x</c>; L2 as the squared distance);
/// layer 0 links are one block of <c>capacity × (2M + 1)</c> int32 (a count, then the links); nodes
/// above layer 0 (about one in M) own a small array of <c>level × (M + 1)</c> int32. Node numbers are
/// internal; the ids callers see are labels kept beside them, so <see cref="Compact"/> can renumber
/// nodes without changing any id.</para>
/// <para>Threads: searches may run concurrently with each other; <see cref="Add"/>,
/// <see cref="AddBatch"/>, <see cref="Remove"/> and <see cref="Compact"/> must not run beside any
/// other call. <see cref="AddBatch"/> itself inserts on several threads (links are written under
/// per-node locks, as in hnswlib).</para>
/// </remarks>
// Size: one type in four files (~1,080 lines) by concern — layout and changes (this file), build, search,
// and persistence. They share the native vector and link blocks, which is why they are one type.
public sealed unsafe partial class HnswIndex : IVectorIndex, IDisposable
{
    private const int LockStripes = 4096;

    private readonly int _m, _m0;
    private readonly double _levelMultiplier;
    private readonly object[] _locks = new object[LockStripes];
    private readonly object _entryLock = new();
    private SeededRandom _rng;

    private float* _vectors;
    private int* _links0;
    private int _capacity;
    private int[]?[] _upper = [];
    private byte[] _levels = [];
    private int[] _labels = [];
    private int[] _internalOf = [];
    private ulong[] _deleted = [];
    private int _count;
    private int _live;
    private int _numEmbeddings;
    private int _entry = -1;
    private int _maxLevel = -1;
    private MappedIndexFile? _mapping;

    /// <summary>An empty index of <paramref name="dims"/>-long vectors.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option or <paramref name="dims"/> is out of range.</exception>
    public HnswIndex(int dims, SimilarityMetric metric = SimilarityMetric.Cosine, HnswOptions? options = null)
    {
        const string op = "hnsw";
        Guard.InRange(op, dims, 1, 1 << 16);
        if (!Enum.IsDefined(metric))
            ThrowHelper.ArgumentOutOfRange(op, nameof(metric), metric, "valid values are Cosine, Dot, L2");
        Options = options ?? new HnswOptions();
        Options.Validate(op);
        Dims = dims;
        Metric = metric;
        _m = Options.M;
        _m0 = 2 * Options.M;
        _levelMultiplier = 1 / Math.Log(_m);
        _rng = new SeededRandom(Options.Seed);
        EfSearch = Options.EfSearch;
        for (int i = 0; i < LockStripes; i++)
            _locks[i] = new object();
    }

    /// <summary>The options the index was built with.</summary>
    public HnswOptions Options { get; }

    /// <summary>Candidate list size of searches (at least k is used); starts at <see cref="HnswOptions.EfSearch"/>.</summary>
    public int EfSearch { get; set; }

    /// <inheritdoc/>
    public int NumEmbeddings => _numEmbeddings;

    /// <inheritdoc/>
    public int Count => _live;

    /// <summary>Nodes held, live and tombstoned (memory is held for these until <see cref="Compact"/>).</summary>
    public int NodeCount => _count;

    /// <inheritdoc/>
    public int Dims { get; }

    /// <inheritdoc/>
    public SimilarityMetric Metric { get; }

    /// <inheritdoc/>
    public bool IsReadOnly => false;

    /// <summary>Whether the vectors and layer-0 links are read from a memory-mapped file (until the first change).</summary>
    public bool IsMapped => _mapping is not null;

    /// <summary>Bytes held by vectors, links and (with int8 traversal) codes — what <see cref="Compact"/> shrinks.</summary>
    public long MemoryBytes
    {
        get
        {
            long upper = 0;
            for (int i = 0; i < _count; i++)
                upper += (_upper[i]?.Length ?? 0) * 4L;
            return (long)_capacity * (Dims * 4L + (_m0 + 1) * 4L + 4 + 1) + upper + _internalOf.Length * 4L + CodeBytes;
        }
    }

    /// <summary>Whether <paramref name="id"/> is a live id.</summary>
    public bool Contains(int id) => (uint)id < (uint)_numEmbeddings && _internalOf[id] >= 0;

    /// <summary>Copies the stored vector of live id <paramref name="id"/> (unit length under Cosine); false when the id is not live.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is not Dims long.</exception>
    public bool TryGetVector(int id, Span<float> destination)
    {
        Guard.Length("hnsw.get_vector", destination.Length, Dims, "Dims");
        if (!Contains(id))
            return false;
        new ReadOnlySpan<float>(Vector(_internalOf[id]), Dims).CopyTo(destination);
        return true;
    }

    // ---- node storage ------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal float* Vector(int node) => _vectors + (nint)node * Dims;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int* Links(int node, int level)
    {
        if (level == 0)
            return _links0 + (nint)node * (_m0 + 1);
        // Upper-layer arrays live on the pinned object heap (NewUpper), so their address never moves.
        return (int*)Unsafe.AsPointer(ref _upper[node]![0]) + (level - 1) * (_m + 1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool IsDeleted(int node) => (_deleted[node >> 6] & (1UL << node)) != 0;

    /// <summary>Distance (lower is nearer) between a prepared query and a node.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal float Distance(float* q, int node) => Metric switch
    {
        SimilarityMetric.L2 => Distances.SquaredL2(q, Vector(node), Dims),
        SimilarityMetric.Cosine => 1f - Distances.Dot(q, Vector(node), Dims),
        _ => -Distances.Dot(q, Vector(node), Dims),
    };

    /// <summary>The score callers see for an internal distance.</summary>
    private float Score(float distance) => Metric switch
    {
        SimilarityMetric.L2 => MathF.Sqrt(Math.Max(distance, 0f)),
        SimilarityMetric.Cosine => 1f - distance,
        _ => -distance,
    };

    private void EnsureCapacity(int nodes)
    {
        Materialize();
        if (nodes <= _capacity)
            return;
        int capacity = Math.Max(nodes, Math.Max(64, _capacity * 2));
        var vectors = (float*)NativeMemory.AlignedAlloc((nuint)capacity * (nuint)Dims * 4, 64);
        var links = (int*)NativeMemory.AlignedAlloc((nuint)capacity * (nuint)(_m0 + 1) * 4, 64);
        if (_count > 0)
        {
            Buffer.MemoryCopy(_vectors, vectors, (long)capacity * Dims * 4, (long)_count * Dims * 4);
            Buffer.MemoryCopy(_links0, links, (long)capacity * (_m0 + 1) * 4, (long)_count * (_m0 + 1) * 4);
        }
        FreeNative();
        _vectors = vectors;
        _links0 = links;
        _capacity = capacity;
        Array.Resize(ref _upper, capacity);
        Array.Resize(ref _levels, capacity);
        Array.Resize(ref _labels, capacity);
        Array.Resize(ref _deleted, (capacity + 63) / 64);
    }

    /// <summary>Copies mapped vectors and links into owned memory before the first change.</summary>
    private void Materialize()
    {
        if (_mapping is null)
            return;
        int capacity = Math.Max(_count, 64);
        var vectors = (float*)NativeMemory.AlignedAlloc((nuint)capacity * (nuint)Dims * 4, 64);
        var links = (int*)NativeMemory.AlignedAlloc((nuint)capacity * (nuint)(_m0 + 1) * 4, 64);
        Buffer.MemoryCopy(_vectors, vectors, (long)capacity * Dims * 4, (long)_count * Dims * 4);
        Buffer.MemoryCopy(_links0, links, (long)capacity * (_m0 + 1) * 4, (long)_count * (_m0 + 1) * 4);
        _mapping.Dispose();
        _mapping = null;
        _vectors = vectors;
        _links0 = links;
        _capacity = capacity;
        Array.Resize(ref _upper, capacity);
        Array.Resize(ref _levels, capacity);
        Array.Resize(ref _labels, capacity);
        Array.Resize(ref _deleted, (capacity + 63) / 64);
    }

    private void FreeNative()
    {
        if (_mapping is not null)
            return;
        if (_vectors != null)
            NativeMemory.AlignedFree(_vectors);
        if (_links0 != null)
            NativeMemory.AlignedFree(_links0);
        _vectors = null;
        _links0 = null;
    }

    /// <summary>Frees the vectors and links (or closes the mapping).</summary>
    public void Dispose()
    {
        if (_mapping is not null)
        {
            _mapping.Dispose();
            _mapping = null;
            _vectors = null;
            _links0 = null;
        }
        else
        {
            FreeNative();
        }
        FreeCodes();
        _codeScale = null;
        _capacity = 0;
        _count = _live = 0;
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees native memory of an index that was never disposed.</summary>
    ~HnswIndex()
    {
        if (_mapping is null)
            FreeNative();
        FreeCodes();
    }

    private void ThrowIfDisposed(string op)
    {
        if (_vectors == null && _count > 0)
            ThrowHelper.Disposed(op, nameof(HnswIndex));
    }

    /// <summary>The query as the graph compares it: unit length for Cosine.</summary>
    private float[] Prepare(string op, ReadOnlySpan<float> vector, string name)
    {
        Guard.Length(op, vector.Length, Dims, "Dims");
        int bad = Distances.FirstNonFinite(vector);
        if (bad >= 0)
            ThrowHelper.Argument(op, name, $"{name}[{bad}] is {vector[bad]}; vectors must be finite (NaN and infinity are rejected)");
        var q = vector.ToArray();
        if (Metric == SimilarityMetric.Cosine)
            Distances.Normalize(q);
        return q;
    }

    private int[] NewUpper(int level) => GC.AllocateArray<int>(level * (_m + 1), pinned: true);

    private int DrawLevel()
    {
        double u = 1 - _rng.NextDouble();
        return Math.Min((int)(-Math.Log(u) * _levelMultiplier), 30);
    }
}
