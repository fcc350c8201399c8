using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Quantization;

namespace EmbedSharp.Search.Ivf;

/// <summary>
/// Inverted-file index: a k-means coarse quantizer splits the vectors into <see cref="IvfOptions.NList"/>
/// lists and a query scans only the <c>nprobe</c> lists whose centroids are nearest. Lists hold the
/// vectors themselves (IVF-Flat) or product-quantization codes of their residuals to the list
/// centroid (IVF-PQ, <see cref="IvfOptions.PqM"/> bytes per vector), scored through ADC tables and
/// optionally re-ranked against kept float32 vectors.
/// </summary>
/// <remarks>
/// Cosine is served as L2 on unit vectors (same order) and reported as cosine; Dot probes the lists
/// with the largest <c>q·c</c> and scores <c>q·c + q·r̂</c>; L2 uses squared distances internally and
/// reports the distance. Filters are applied while scanning; a filter that allows under 5% of the
/// vectors makes the search visit every list, so it still returns the best allowed ids (under PQ
/// scoring). Searches may run concurrently; changes must not run beside any other call.
/// </remarks>
// Size: one type in three files (~900 lines) by concern — training and changes (this file), search, and
// persistence (including the memory-mapped form). They share the list layout, which is why they are one type.
public sealed partial class IvfIndex : IVectorIndex
{
    private readonly float[] _centroids;
    private readonly ProductQuantizer? _pq;
    private readonly float[] _codebooksT;
    private readonly float[]? _rotation;
    private readonly float[] _rotatedCentroids;
    private readonly InvertedList[] _lists;
    private float[] _raw = [];
    private int[] _listOf = [];
    private ulong[] _removed = [];
    private int _numEmbeddings;
    private int _live;

    private IvfIndex(int dims, SimilarityMetric metric, IvfOptions options, float[] centroids, ProductQuantizer? pq, float[]? rotation)
    {
        Dims = dims;
        Metric = metric;
        Options = options;
        NProbe = options.NProbe;
        _centroids = centroids;
        _pq = pq;
        _codebooksT = pq is null ? [] : IvfKernels.TransposeCodebooks(pq.Centroids, pq.M, pq.SubDims);
        _rotation = rotation;
        _rotatedCentroids = [];
        if (rotation is not null)
        {
            _rotatedCentroids = new float[centroids.Length];
            Opq.Rotate(centroids, dims, rotation, _rotatedCentroids);
        }
        _lists = new InvertedList[centroids.Length / dims];
        for (int i = 0; i < _lists.Length; i++)
            _lists[i] = new InvertedList();
    }

    /// <summary>
    /// Trains the coarse quantizer (and the product quantizer on residuals) on the row-major
    /// <paramref name="sample"/>, which needs at least NList rows (256 for PQ); returns an empty index.
    /// </summary>
    /// <exception cref="ArgumentException">The sample is too small, ragged or not finite.</exception>
    public static IvfIndex Train(ReadOnlySpan<float> sample, int dims, SimilarityMetric metric = SimilarityMetric.Cosine, IvfOptions? options = null, int threads = -1)
    {
        const string op = "ivf.train";
        Guard.InRange(op, dims, 1, 1 << 16);
        if (!Enum.IsDefined(metric))
            ThrowHelper.ArgumentOutOfRange(op, nameof(metric), metric, "valid values are Cosine, Dot, L2");
        options ??= new IvfOptions();
        options.Validate(op, dims);
        if (sample.Length % dims != 0)
            ThrowHelper.Argument(op, nameof(sample), $"{sample.Length} values is not a whole number of {dims}-long vectors");
        int bad = Distances.FirstNonFinite(sample);
        if (bad >= 0)
            ThrowHelper.Argument(op, nameof(sample), $"sample[{bad}] is {sample[bad]}; vectors must be finite");
        int n = sample.Length / dims;
        if (n < options.NList || (options.PqM > 0 && n < ProductQuantizer.Ksub))
            ThrowHelper.Argument(op, nameof(sample), $"{n} training vectors are too few for {options.NList} lists{(options.PqM > 0 ? " and 256 PQ centroids" : "")}; give at least {Math.Max(options.NList, options.PqM > 0 ? 256 : 0)}");
        var data = Subsample(sample, dims, (long)options.NList * options.MaxPointsPerCentroid, options.Seed);
        if (metric == SimilarityMetric.Cosine)
            NormalizeRows(data, dims);
        var centroids = KMeans.Train(data, dims, options.NList, options.TrainIterations, options.Seed, threads);
        ProductQuantizer? pq = null;
        float[]? rotation = null;
        if (options.PqM > 0)
        {
            int m = data.Length / dims;
            var assignment = new int[m];
            KMeans.Assign(data, dims, centroids, assignment, threads: threads);
            var residuals = new float[data.Length];
            for (int i = 0; i < m; i++)
                for (int j = 0; j < dims; j++)
                    residuals[i * dims + j] = data[i * dims + j] - centroids[assignment[i] * dims + j];
            var pqSample = Subsample(residuals, dims, 256L * options.MaxPointsPerCentroid, options.Seed + 1);
            if (options.OpqIterations > 0)
                (rotation, pq) = Opq.Train(pqSample, dims, options.PqM, options.OpqIterations, options.TrainIterations, options.Seed + 2, threads);
            else
                pq = ProductQuantizer.Train(pqSample, dims, options.PqM, options.TrainIterations, options.Seed + 2, threads);
        }
        return new IvfIndex(dims, metric, options, centroids, pq, rotation);
    }

    /// <summary>The options the index was trained with.</summary>
    public IvfOptions Options { get; }

    /// <summary>Lists searched per query; starts at <see cref="IvfOptions.NProbe"/>.</summary>
    public int NProbe { get; set; }

    /// <inheritdoc/>
    public int NumEmbeddings => _numEmbeddings;

    /// <inheritdoc/>
    public int Count => _live;

    /// <inheritdoc/>
    public int Dims { get; }

    /// <inheritdoc/>
    public SimilarityMetric Metric { get; }

    /// <inheritdoc/>
    public bool IsReadOnly => false;

    /// <summary>Number of inverted lists.</summary>
    public int NList => _lists.Length;

    /// <summary>The OPQ rotation (Dims × Dims, row-major; residuals are coded as <c>r·R</c>), or null without OPQ.</summary>
    public ReadOnlySpan<float> Rotation => _rotation;

    /// <summary>The product quantizer (null for IVF-Flat).</summary>
    public ProductQuantizer? Quantizer => _pq;

    /// <summary>Bytes per stored vector in the lists (4·Dims flat, PqM with PQ) plus the id.</summary>
    public int BytesPerVector => (_pq is null ? Dims * 4 : _pq.M) + 4 + (KeepsVectors ? Dims * 4 : 0);

    private bool KeepsVectors => _pq is not null && Options.RerankFactor > 0;

    /// <summary>Whether <paramref name="id"/> is a live id.</summary>
    public bool Contains(int id) => (uint)id < (uint)_numEmbeddings && (_removed[id >> 6] & (1UL << id)) == 0;

    /// <summary>
    /// Copies the vector of live id <paramref name="id"/>: exact for IVF-Flat and kept vectors (unit
    /// length under Cosine), otherwise the PQ reconstruction (centroid + decoded residual); false when the id is not live.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is not Dims long.</exception>
    public bool TryGetVector(int id, Span<float> destination)
    {
        Guard.Length("ivf.get_vector", destination.Length, Dims, "Dims");
        if (!Contains(id))
            return false;
        if (KeepsVectors)
        {
            RawSpan.Slice(id * Dims, Dims).CopyTo(destination);
            return true;
        }
        var list = _lists[_listOf[id]];
        int at = list.IdSpan.IndexOf(id);
        int stride = _pq?.M ?? Dims * 4;
        if (_pq is null)
        {
            System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(list.DataSpan(stride).Slice(at * Dims * 4, Dims * 4)).CopyTo(destination);
            return true;
        }
        _pq.Decode(list.DataSpan(stride).Slice(at * _pq.M, _pq.M), destination);
        if (_rotation is not null)
        {
            // Back from the rotated space: x = y·Rᵀ.
            var y = destination.ToArray();
            for (int a = 0; a < Dims; a++)
                destination[a] = Distances.DotReference(y, _rotation.AsSpan(a * Dims, Dims));
        }
        for (int j = 0; j < Dims; j++)
            destination[j] += _centroids[_listOf[id] * Dims + j];
        return true;
    }

    /// <inheritdoc/>
    public int Add(ReadOnlySpan<float> vector) => AddBatch(vector, 1);

    /// <summary>Adds row-major vectors (ids are consecutive from the returned one) on up to <paramref name="threads"/> threads.</summary>
    /// <exception cref="ArgumentException">Ragged input or NaN/infinity (nothing is added).</exception>
    public int AddBatch(ReadOnlySpan<float> vectors, int threads = -1, IProgress<int>? progress = null)
    {
        const string op = "ivf.add";
        int n = VectorRows.Count(op, vectors, Dims);
        int first = _numEmbeddings;
        if (n == 0)
            return first;
        var data = vectors.ToArray();
        Materialize();
        if (Metric == SimilarityMetric.Cosine)
            NormalizeRows(data, Dims);
        var assignment = new int[n];
        AssignLists(data, assignment, threads);
        byte[]? codes = null;
        if (_pq is not null)
        {
            codes = new byte[(long)n * _pq.M];
            int m = _pq.M, dims = Dims;
            Parallel.For(0, (n + 255) / 256, new ParallelOptions { MaxDegreeOfParallelism = threads <= 0 ? Environment.ProcessorCount : threads }, block =>
            {
                var residual = new float[dims];
                var rotated = _rotation is null ? residual : new float[dims];
                for (int i = block * 256; i < Math.Min(n, block * 256 + 256); i++)
                {
                    for (int j = 0; j < dims; j++)
                        residual[j] = data[(long)i * dims + j] - _centroids[(long)assignment[i] * dims + j];
                    if (_rotation is not null)
                        Opq.Rotate(residual, dims, _rotation, rotated);
                    _pq.Encode(rotated, codes.AsSpan(i * m, m));
                }
            });
        }
        Grow(first + n);
        for (int i = 0; i < n; i++)
        {
            int id = first + i;
            var list = _lists[assignment[i]];
            if (_pq is null)
                list.Add(id, System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan(i * Dims, Dims)));
            else
                list.Add(id, codes.AsSpan(i * _pq.M, _pq.M));
            _listOf[id] = assignment[i];
            if (KeepsVectors)
                data.AsSpan(i * Dims, Dims).CopyTo(_raw.AsSpan((long)id * Dims > int.MaxValue ? throw new InvalidOperationException(ThrowHelper.Format(op, "kept vectors exceed 2^31 floats")) : id * Dims));
            if ((i & 8191) == 8191)
                progress?.Report(i + 1);
        }
        _numEmbeddings += n;
        _live += n;
        progress?.Report(n);
        return first;
    }

    /// <inheritdoc/>
    public bool Remove(int id)
    {
        if (!Contains(id))
            return false;
        Materialize();
        _removed[id >> 6] |= 1UL << id;
        _live--;
        return true;
    }

    /// <summary>Drops removed vectors from the inverted lists, freeing their codes (kept float32 rows are indexed by id and stay).</summary>
    public void Compact()
    {
        Materialize();
        int stride = _pq?.M ?? Dims * 4;
        foreach (var list in _lists)
            list.RemoveWhere(id => (_removed[id >> 6] & (1UL << id)) != 0, stride);
    }

    private void Grow(int ids)
    {
        if (_listOf.Length >= ids)
            return;
        int capacity = Math.Max(ids, Math.Max(1024, _listOf.Length * 2));
        Array.Resize(ref _listOf, capacity);
        Array.Resize(ref _removed, (capacity + 63) / 64);
        if (KeepsVectors && _mapping is null)
            Array.Resize(ref _raw, checked(capacity * Dims));
    }

    private void AssignLists(float[] data, int[] assignment, int threads)
    {
        if (Metric == SimilarityMetric.Dot)
        {
            // Maximum inner product with the centroids, as FAISS's IVF under METRIC_INNER_PRODUCT.
            int n = assignment.Length;
            Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = threads <= 0 ? Environment.ProcessorCount : threads }, i =>
            {
                var top = ProbeLists(data.AsSpan(i * Dims, Dims), 1);
                assignment[i] = top[0];
            });
            return;
        }
        KMeans.Assign(data, Dims, _centroids, assignment, threads: threads);
    }

    internal static float[] Subsample(ReadOnlySpan<float> data, int dims, long maxRows, ulong seed)
    {
        int n = data.Length / dims;
        if (n <= maxRows)
            return data.ToArray();
        // A seeded partial Fisher–Yates shuffle picks maxRows distinct rows.
        var order = new int[n];
        for (int i = 0; i < n; i++)
            order[i] = i;
        var rng = new SeededRandom(seed);
        var result = new float[maxRows * dims];
        for (int i = 0; i < maxRows; i++)
        {
            int j = i + rng.NextInt(n - i);
            (order[i], order[j]) = (order[j], order[i]);
            data.Slice(order[i] * dims, dims).CopyTo(result.AsSpan(i * dims, dims));
        }
        return result;
    }

    internal static void NormalizeRows(float[] data, int dims)
    {
        for (int i = 0; i < data.Length / dims; i++)
            Distances.Normalize(data.AsSpan(i * dims, dims));
    }
}

/// <summary>One inverted list: ids and, side by side, each vector's stored bytes (floats or PQ codes).</summary>
internal sealed unsafe class InvertedList
{
    public int[] Ids = [];
    public byte[] Data = [];
    public int Count;

    /// <summary>Ids and data inside a memory-mapped file (null when the list owns arrays).</summary>
    public int* MappedIds;
    public byte* MappedData;

    public ReadOnlySpan<int> IdSpan => MappedIds != null ? new ReadOnlySpan<int>(MappedIds, Count) : Ids.AsSpan(0, Count);

    public ReadOnlySpan<byte> DataSpan(int stride) => MappedData != null ? new ReadOnlySpan<byte>(MappedData, Count * stride) : Data.AsSpan(0, Count * stride);

    /// <summary>Copies mapped ids and data into owned arrays.</summary>
    public void Materialize(int stride)
    {
        if (MappedIds == null)
            return;
        Ids = IdSpan.ToArray();
        Data = DataSpan(stride).ToArray();
        MappedIds = null;
        MappedData = null;
    }

    /// <summary>Forgets a closed mapping: the list is empty.</summary>
    public void Detach()
    {
        if (MappedIds == null)
            return;
        MappedIds = null;
        MappedData = null;
        Count = 0;
    }

    public void Add(int id, ReadOnlySpan<byte> bytes)
    {
        if (Count == Ids.Length)
        {
            int capacity = Math.Max(16, Count * 2);
            Array.Resize(ref Ids, capacity);
            Array.Resize(ref Data, capacity * bytes.Length);
        }
        Ids[Count] = id;
        bytes.CopyTo(Data.AsSpan(Count * bytes.Length));
        Count++;
    }

    public void RemoveWhere(Func<int, bool> removed, int stride)
    {
        int kept = 0;
        for (int i = 0; i < Count; i++)
        {
            if (removed(Ids[i]))
                continue;
            Ids[kept] = Ids[i];
            Data.AsSpan(i * stride, stride).CopyTo(Data.AsSpan(kept * stride));
            kept++;
        }
        Count = kept;
        Array.Resize(ref Ids, kept);
        Array.Resize(ref Data, kept * stride);
    }
}
