using System.Diagnostics;
using EmbedSharp.Diagnostics;
using EmbedSharp.Graphs.Data;
using EmbedSharp.Graphs.Models;
using EmbedSharp.Initializers;
using EmbedSharp.Numerics;
using EmbedSharp.Optimizers;
using EmbedSharp.Sparse;

namespace EmbedSharp.Graphs.Training;

/// <summary>
/// Trains a <see cref="KgModel"/> in place with hand-derived gradients and our fused sparse optimizers,
/// one optimizer per table. Two regimes:
/// <list type="bullet">
/// <item>1-N (DistMult, ComplEx): a batch of B queries is scored against all N entities with one GEMM
/// (<c>S = Q·Eᵀ</c>), softmax cross-entropy gives <c>G = ∂L/∂S</c>, and two more GEMMs give the gradients
/// of the queries (<c>G·E</c>) and of every entity row (<c>Gᵀ·Q</c>): the first is
/// <see cref="Embedding.AsLinear(ReadOnlySpan{float}, Span{float})"/>, the other two are
/// <see cref="Embedding.AsLinearBackward"/>, which reads the table and G in place (no transposed copies).</item>
/// <item>Negative sampling (all models): k corrupted triples per positive, uniform or Bernoulli corruption,
/// per-sample or shared negatives; the batch is split over threads, each gathering its rows' gradients,
/// and the gathered gradients are merged in a fixed order, so a run is reproducible for a given thread count.</item>
/// </list>
/// Cancellation is checked between batches; a cancelled run returns with <see cref="KgTrainingSummary.Cancelled"/> set.
/// </summary>
public static class KgTrainer
{
    private const string Op = "kg.train";

    /// <summary>Trains <paramref name="model"/> on <paramref name="triples"/> (relation ids of the data, without inverses).</summary>
    /// <exception cref="ArgumentException">An option is out of range, a triple's id is out of the model's range, or 1-N is asked of a distance model.</exception>
    public static KgTrainingSummary Train(KgModel model, ReadOnlySpan<Triple> triples, KgTrainingOptions? options = null, CancellationToken cancellationToken = default)
    {
        Guard.NotNull(Op, model);
        options ??= new KgTrainingOptions();
        Validate(options);
        KnowledgeGraph.Check(Op, "triples", triples, model.NumEntities, model.NumRelations);
        KgLoss loss = options.Loss != KgLoss.Auto ? options.Loss : model.Name switch
        {
            "distmult" or "complex" => KgLoss.OneToN,
            "transe" => KgLoss.Margin,
            _ => KgLoss.SelfAdversarial,
        };
        if (loss == KgLoss.OneToN && model.Kind != ScoreKind.Dot)
            ThrowHelper.Argument(Op, "Loss", $"1-N training needs a dot-product model (distmult, complex) but the model is {model.Name}; use margin or self-adversarial negative sampling");
        if (loss != KgLoss.OneToN && (options.EntityDropout > 0 || options.RelationDropout > 0))
            ThrowHelper.Argument(Op, "EntityDropout", $"embedding dropout applies to 1-N training only but the loss is {loss}; set EntityDropout and RelationDropout to 0 or train distmult/complex with the 1-N loss");
        if (loss == KgLoss.OneToN && (options.AlternateSides || options.FilterNegatives || options.SubsamplingWeights))
            ThrowHelper.Argument(Op, "FilterNegatives", "AlternateSides, FilterNegatives and SubsamplingWeights apply to negative sampling only but the loss is OneToN; turn them off or use the margin or self-adversarial loss");
        KgOptimizer optimizer = options.Optimizer ?? (loss == KgLoss.OneToN ? KgOptimizer.Adagrad : KgOptimizer.Adam);
        double lr = options.LearningRate ?? (optimizer == KgOptimizer.Adam ? 1e-3 : 0.1);
        Guard.PositiveFinite(Op, lr, "LearningRate");
        double relationLr = options.RelationLearningRate ?? lr;
        // One optimizer step per batch; a 1-N epoch has two queries per triple.
        long stepsPerEpoch = ((loss == KgLoss.OneToN ? 2L : 1L) * triples.Length + options.BatchSize - 1) / options.BatchSize;
        var schedule = Schedule(options, Math.Max(1, stepsPerEpoch * options.Epochs));
        using var entityOptimizer = CreateOptimizer(optimizer, lr, model.Entities.Weight, schedule);
        using var relationOptimizer = CreateOptimizer(optimizer, relationLr, model.Relations.Weight, schedule);
        var run = new Run(model, options, loss, entityOptimizer, relationOptimizer);
        return run.Execute(triples.ToArray(), cancellationToken);
    }

    private static void Validate(KgTrainingOptions o)
    {
        Guard.NonNegative(Op, o.Epochs, "Epochs");
        Guard.Positive(Op, o.BatchSize, "BatchSize");
        Guard.Positive(Op, o.Negatives, "Negatives");
        Guard.Positive(Op, o.Threads, "Threads");
        Guard.Finite(Op, o.Margin, "Margin");
        Guard.Finite(Op, o.AdversarialTemperature, "AdversarialTemperature");
        Guard.Finite(Op, o.RegularizationWeight, "RegularizationWeight");
        if (o.RegularizationWeight < 0)
            ThrowHelper.ArgumentOutOfRange(Op, "RegularizationWeight", o.RegularizationWeight, "the regularization weight must be ≥ 0");
        if (o.RelationRegularizationWeight is float rw && (!float.IsFinite(rw) || rw < 0))
            ThrowHelper.ArgumentOutOfRange(Op, "RelationRegularizationWeight", rw, "the relation regularization weight must be finite and ≥ 0 (null: the same as RegularizationWeight)");
        if (!(o.EntityDropout >= 0 && o.EntityDropout < 1))
            ThrowHelper.ArgumentOutOfRange(Op, "EntityDropout", o.EntityDropout, "a dropout probability must be in [0, 1)");
        if (!(o.RelationDropout >= 0 && o.RelationDropout < 1))
            ThrowHelper.ArgumentOutOfRange(Op, "RelationDropout", o.RelationDropout, "a dropout probability must be in [0, 1)");
        if (o.RelationLearningRate is double rl && !(rl > 0 && double.IsFinite(rl)))
            ThrowHelper.ArgumentOutOfRange(Op, "RelationLearningRate", rl, "the relation learning rate must be finite and > 0 (null: the same as LearningRate)");
        if (!Enum.IsDefined(o.LearningRateDecay))
            ThrowHelper.ArgumentOutOfRange(Op, "LearningRateDecay", o.LearningRateDecay, "valid values are Constant, Linear, Cosine, Step");
        if (o.AlternateSides && o.Corruption != CorruptionMode.Uniform)
            ThrowHelper.Argument(Op, "AlternateSides", $"alternating head and tail batches fixes the corrupted end per batch, so it needs Uniform corruption, not {o.Corruption}");
        if (o.FilterNegatives && o.SharedNegatives)
            ThrowHelper.Argument(Op, "FilterNegatives", "filtering known triples out of the negatives needs per-sample negatives; set SharedNegatives to false");
        if (!(o.FinalLearningRateFactor >= 0 && o.FinalLearningRateFactor <= 1))
            ThrowHelper.ArgumentOutOfRange(Op, "FinalLearningRateFactor", o.FinalLearningRateFactor, "the final learning-rate factor must be in [0, 1]");
        if (!Enum.IsDefined(o.Loss))
            ThrowHelper.ArgumentOutOfRange(Op, "Loss", o.Loss, "valid values are Auto, OneToN, Margin, SelfAdversarial");
        if (!Enum.IsDefined(o.Corruption))
            ThrowHelper.ArgumentOutOfRange(Op, "Corruption", o.Corruption, "valid values are Uniform, Bernoulli");
        if (!Enum.IsDefined(o.Regularizer))
            ThrowHelper.ArgumentOutOfRange(Op, "Regularizer", o.Regularizer, "valid values are None, L2, N3");
        if (o.Optimizer is KgOptimizer opt && !Enum.IsDefined(opt))
            ThrowHelper.ArgumentOutOfRange(Op, "Optimizer", opt, "valid values are Adagrad, Adam, RowwiseAdagrad");
    }

    /// <summary>The schedule of <see cref="KgTrainingOptions.LearningRateDecay"/> over <paramref name="totalSteps"/> steps (the last one reaches the final factor).</summary>
    internal static LearningRateSchedule Schedule(KgTrainingOptions options, long totalSteps) => options.LearningRateDecay switch
    {
        KgLearningRateDecay.Linear => totalSteps == 1 ? LearningRateSchedule.Constant : LearningRateSchedule.Linear(totalSteps - 1, options.FinalLearningRateFactor),
        KgLearningRateDecay.Cosine => totalSteps == 1 ? LearningRateSchedule.Constant : LearningRateSchedule.Cosine(totalSteps - 1, options.FinalLearningRateFactor),
        KgLearningRateDecay.Step => totalSteps == 1 ? LearningRateSchedule.Constant : new StepSchedule(totalSteps / 2, options.FinalLearningRateFactor),
        _ => LearningRateSchedule.Constant,
    };

    /// <summary>Factor 1 through step <paramref name="fullSteps"/>, then <paramref name="factor"/>.</summary>
    private sealed class StepSchedule(long fullSteps, double factor) : LearningRateSchedule
    {
        public override double Factor(long step) => step <= fullSteps ? 1 : factor;
    }

    private static SparseOptimizer CreateOptimizer(KgOptimizer kind, double lr, Tables.EmbeddingTable table, LearningRateSchedule schedule)
    {
        var o = new SparseOptimizerOptions { Schedule = schedule };
        return kind switch
        {
            KgOptimizer.Adam => FusedSparseBackward.Create(table, new Adam(lr), o),
            KgOptimizer.RowwiseAdagrad => FusedSparseBackward.Create(table, new RowwiseAdagrad(lr), o),
            _ => FusedSparseBackward.Create(table, new Adagrad(lr), o),
        };
    }

    /// <summary>One query of 1-N training: anchor, relation row, side of the query map, answer.</summary>
    internal readonly record struct Query(int Anchor, int Relation, bool HeadSide, int Target);

    private sealed class Run(KgModel model, KgTrainingOptions options, KgLoss loss, SparseOptimizer entityOptimizer, SparseOptimizer relationOptimizer)
    {
        public KgTrainingSummary Execute(Triple[] triples, CancellationToken ct)
        {
            var clock = Stopwatch.StartNew();
            var random = new SeededRandom(options.Seed);
            long examples = 0;
            double lastLoss = double.NaN;
            int completed = 0;
            bool cancelled = false;
            Query[]? queries = null;
            float[]? weights = null;
            NegativeWorkspace? negative = null;
            if (loss == KgLoss.OneToN)
                queries = Queries(model, triples);
            else
            {
                negative = new NegativeWorkspace(model, options, loss, triples);
                // Each weight travels with its triple through the shuffles.
                weights = options.SubsamplingWeights ? SubsamplingWeights(triples) : null;
            }
            var oneToN = loss == KgLoss.OneToN ? new OneToNWorkspace(model) : null;
            for (int epoch = 1; epoch <= options.Epochs && !cancelled; epoch++)
            {
                double sum = 0;
                long seen = 0;
                if (queries is not null)
                {
                    Shuffle(queries, random);
                    // Drawn only when dropout is on, so runs without it repeat earlier releases exactly.
                    ulong dropoutSeed = options.EntityDropout > 0 || options.RelationDropout > 0 ? random.NextUInt64() : 0;
                    for (int start = 0, batch = 0; start < queries.Length; start += options.BatchSize, batch++)
                    {
                        if (ct.IsCancellationRequested)
                        {
                            cancelled = true;
                            break;
                        }
                        int count = Math.Min(options.BatchSize, queries.Length - start);
                        sum += oneToN!.Step(queries.AsSpan(start, count), options, entityOptimizer, relationOptimizer, dropoutSeed ^ ((ulong)batch * 0x9E3779B97F4A7C15UL)) * count;
                        seen += count;
                    }
                }
                else
                {
                    Shuffle(triples, random, weights);
                    ulong epochSeed = random.NextUInt64();
                    for (int start = 0, batch = 0; start < triples.Length; start += options.BatchSize, batch++)
                    {
                        if (ct.IsCancellationRequested)
                        {
                            cancelled = true;
                            break;
                        }
                        int count = Math.Min(options.BatchSize, triples.Length - start);
                        var batchWeights = weights is null ? default : weights.AsSpan(start, count);
                        sum += negative!.Compute(triples.AsSpan(start, count), batchWeights, batch, epochSeed ^ ((ulong)batch * 0x9E3779B97F4A7C15UL)) * count;
                        negative.Step(entityOptimizer, relationOptimizer);
                        seen += count;
                    }
                }
                examples += seen;
                if (cancelled)
                {
                    if (completed == 0 && seen > 0)
                        lastLoss = sum / seen; // nothing better to report: the mean over the part of the first epoch that ran
                    break;
                }
                completed = epoch;
                lastLoss = seen == 0 ? 0 : sum / seen;
                options.Progress?.Invoke(new KgEpochReport(epoch, options.Epochs, lastLoss, examples, clock.Elapsed));
            }
            return new KgTrainingSummary(completed, lastLoss, examples, clock.Elapsed, cancelled, loss);
        }

        /// <summary>Fisher–Yates; <paramref name="companion"/>, when given, is permuted alongside (the same draws, so the items' order does not depend on it).</summary>
        private static void Shuffle<T>(T[] items, SeededRandom random, float[]? companion = null)
        {
            for (int i = items.Length - 1; i > 0; i--)
            {
                int j = random.NextInt(i + 1);
                (items[i], items[j]) = (items[j], items[i]);
                if (companion is not null)
                    (companion[i], companion[j]) = (companion[j], companion[i]);
            }
        }
    }

    /// <summary>
    /// Per training triple, RotatE's reference subsampling weight <c>1 / √(c(h, r) + c(t, r⁻¹))</c>: c counts the triples
    /// with that head and relation (that tail and relation) and starts at 4 for the first, as word2vec-style subsampling.
    /// </summary>
    internal static float[] SubsamplingWeights(ReadOnlySpan<Triple> triples)
    {
        var headCounts = new Dictionary<(int, int), int>();
        var tailCounts = new Dictionary<(int, int), int>();
        foreach (var t in triples)
        {
            headCounts[(t.Head, t.Relation)] = headCounts.GetValueOrDefault((t.Head, t.Relation), 3) + 1;
            tailCounts[(t.Tail, t.Relation)] = tailCounts.GetValueOrDefault((t.Tail, t.Relation), 3) + 1;
        }
        var weights = new float[triples.Length];
        for (int i = 0; i < triples.Length; i++)
        {
            var t = triples[i];
            weights[i] = (float)(1 / Math.Sqrt(headCounts[(t.Head, t.Relation)] + tailCounts[(t.Tail, t.Relation)]));
        }
        return weights;
    }

    /// <summary>
    /// One batch of negative sampling (margin or self-adversarial loss): draws the corrupted ends and the negatives,
    /// gathers every row's gradient (the batch is split over threads, each gathering its own rows, merged in a fixed
    /// order), and hands them to the optimizers in <see cref="Step"/>.
    /// </summary>
    internal sealed class NegativeWorkspace
    {
        private readonly KgModel _model;
        private readonly KgTrainingOptions _options;
        private readonly KgLoss _loss;
        private readonly int _threads;
        private readonly double[]? _headProbability;
        private readonly FilterIndex? _known;
        private readonly RowGradients?[] _entityGrads;
        private readonly RowGradients?[] _relationGrads;

        /// <param name="model">The model trained.</param>
        /// <param name="options">Settings (negatives, corruption, filtering, temperature, regularizer, threads).</param>
        /// <param name="loss">Margin or self-adversarial.</param>
        /// <param name="triples">The training triples (for Bernoulli probabilities and the negatives' filter).</param>
        public NegativeWorkspace(KgModel model, KgTrainingOptions options, KgLoss loss, ReadOnlySpan<Triple> triples)
        {
            _model = model;
            _options = options;
            _loss = loss;
            _threads = Math.Max(1, options.Threads);
            _entityGrads = new RowGradients?[_threads];
            _relationGrads = new RowGradients?[_threads];
            if (options.Corruption == CorruptionMode.Bernoulli)
                _headProbability = BernoulliProbabilities(triples, model.NumRelations);
            if (options.FilterNegatives)
                _known = FilterIndex.Build(model.NumEntities, triples.ToArray());
        }

        /// <summary>The gathered entity-row gradients of the last <see cref="Compute"/> (emptied by <see cref="Step"/> and <see cref="Clear"/>).</summary>
        public RowGradients EntityGradients => _entityGrads[0] ??= new RowGradients(_model.NumEntities, _model.Entities.Dims);

        /// <summary>The gathered relation-row gradients of the last <see cref="Compute"/>.</summary>
        public RowGradients RelationGradients => _relationGrads[0] ??= new RowGradients(_model.Relations.NumEmbeddings, _model.Relations.Dims);

        /// <summary>
        /// The batch's loss (mean over its triples, or weighted by <paramref name="weights"/> and normalised by their sum) and
        /// its gradients, gathered into <see cref="EntityGradients"/> and <see cref="RelationGradients"/>. Negatives and
        /// corrupted ends come from <paramref name="seed"/> alone (and <paramref name="batchIndex"/> with alternating sides).
        /// </summary>
        public double Compute(ReadOnlySpan<Triple> batch, ReadOnlySpan<float> weights, int batchIndex, ulong seed)
        {
            int n = _model.NumEntities, k = _options.Negatives, count = batch.Length;
            int[]? shared = null;
            if (_options.SharedNegatives)
            {
                var r = new SeededRandom(seed ^ 0x5DEECE66DUL);
                shared = new int[k];
                for (int j = 0; j < k; j++)
                    shared[j] = r.NextInt(n);
            }
            // Per-example share of the batch's gradient: 1 / count, or w / Σw with subsampling weights.
            float[]? scales = null;
            if (!weights.IsEmpty)
            {
                double total = 0;
                foreach (float w in weights)
                    total += w;
                scales = new float[count];
                for (int i = 0; i < count; i++)
                    scales[i] = (float)(weights[i] / total);
            }
            QuerySide? side = _options.AlternateSides ? (batchIndex % 2 == 0 ? QuerySide.Tail : QuerySide.Head) : null;
            int workers = Math.Min(_threads, Math.Max(1, count / 16));
            var triples = batch.ToArray();
            var losses = new double[workers];
            // Per-worker gradient gatherers live across batches (Build and MergeFrom leave them empty).
            var entityGrads = _entityGrads;
            var relationGrads = _relationGrads;
            Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, w =>
            {
                int first = (int)((long)count * w / workers), last = (int)((long)count * (w + 1) / workers);
                entityGrads[w] ??= new RowGradients(n, _model.Entities.Dims);
                relationGrads[w] ??= new RowGradients(_model.Relations.NumEmbeddings, _model.Relations.Dims);
                losses[w] = Range(triples, first, last, scales, side, shared, new SeededRandom(seed + (ulong)w * 0xD1B54A32D192ED03UL), entityGrads[w]!, relationGrads[w]!);
            });
            double sum = 0;
            for (int w = 0; w < workers; w++)
                sum += losses[w];
            for (int w = 1; w < workers; w++)
            {
                entityGrads[0]!.MergeFrom(entityGrads[w]!);
                relationGrads[0]!.MergeFrom(relationGrads[w]!);
            }
            return sum / count;
        }

        /// <summary>Applies the gathered gradients with the two optimizers and empties the gatherers.</summary>
        public void Step(SparseOptimizer entityOptimizer, SparseOptimizer relationOptimizer)
        {
            EntityGradients.StepAndClear(_model.Entities, entityOptimizer);
            RelationGradients.StepAndClear(_model.Relations, relationOptimizer);
        }

        /// <summary>Empties the gatherers without a step.</summary>
        public void Clear()
        {
            EntityGradients.Clear();
            RelationGradients.Clear();
        }

        /// <summary>
        /// Fills <paramref name="ids"/> with uniform entity ids; with <see cref="KgTrainingOptions.FilterNegatives"/>, ids that
        /// are known answers of the query (<paramref name="anchor"/>, <paramref name="relation"/>, <paramref name="side"/>)
        /// are drawn again. A query every entity answers cannot be filtered and keeps its plain draws.
        /// </summary>
        internal void DrawNegatives(int anchor, int relation, QuerySide side, SeededRandom random, Span<int> ids)
        {
            int n = _model.NumEntities;
            var answers = _known is null ? default : _known.Answers(anchor, relation, side);
            bool filter = !answers.IsEmpty && answers.Length < n;
            for (int j = 0; j < ids.Length; j++)
            {
                int id = random.NextInt(n);
                // At least one entity is not an answer, so this ends (after n / (n − answers) draws on average).
                while (filter && answers.BinarySearch(id) >= 0)
                    id = random.NextInt(n);
                ids[j] = id;
            }
        }

        private double Range(Triple[] triples, int first, int last, float[]? scales, QuerySide? fixedSide, int[]? shared, SeededRandom random, RowGradients entityGrads, RowGradients relationGrads)
        {
            var model = _model;
            var options = _options;
            int d = model.Entities.Dims, k = options.Negatives, n = model.NumEntities;
            var table = model.Entities.Weight;
            var relations = model.Relations.Weight;
            float inv = 1f / (triples.Length);
            var negatives = new float[k * d];
            var gNegatives = new float[k * d];
            var gAnchor = new float[d];
            var gTarget = new float[d];
            var gRelation = new float[model.Relations.Dims];
            var q = new float[d];
            var gq = new float[d];
            var scores = new float[k];
            var ids = shared ?? new int[k];
            double sum = 0;
            bool regularizeRelation = model.Name != "rotate";
            for (int i = first; i < last; i++)
            {
                var t = triples[i];
                QuerySide side;
                if (fixedSide is QuerySide fixedValue)
                    side = fixedValue;
                else
                {
                    double pHead = _headProbability is null ? 0.5 : _headProbability[t.Relation];
                    side = random.NextDouble() < pHead ? QuerySide.Head : QuerySide.Tail;
                }
                int anchor = side == QuerySide.Tail ? t.Head : t.Tail;
                int target = side == QuerySide.Tail ? t.Tail : t.Head;
                var (row, headSide) = model.ResolveRelation(t.Relation, side);
                if (shared is null)
                    DrawNegatives(anchor, t.Relation, side, random, ids);
                for (int j = 0; j < k; j++)
                    table.GetRow<float>(ids[j]).CopyTo(negatives.AsSpan(j * d, d));
                Array.Clear(gAnchor);
                Array.Clear(gTarget);
                Array.Clear(gRelation);
                var anchorRow = table.GetRow<float>(anchor);
                var relationRow = relations.GetRow<float>(row);
                var targetRow = table.GetRow<float>(target);
                float value = Losses.NegativeSampling(model, _loss, options.Margin, options.AdversarialTemperature, anchorRow, relationRow, headSide, targetRow, negatives, k,
                    gAnchor, gRelation, gTarget, gNegatives, q, gq, scores);
                value += Losses.Regularize(options.Regularizer, options.RegularizationWeight, model.IsComplex, anchorRow, gAnchor, 1);
                value += Losses.Regularize(options.Regularizer, options.RegularizationWeight, model.IsComplex, targetRow, gTarget, 1);
                if (regularizeRelation)
                    value += Losses.Regularize(options.Regularizer, options.RelationRegularizationWeight ?? options.RegularizationWeight, model.IsComplex, relationRow, gRelation, 1);
                float scale = inv;
                if (scales is null)
                    sum += value;
                else
                {
                    // Compute divides the sum by the batch size: the weighted mean Σ w·ℓ / Σ w comes out.
                    scale = scales[i];
                    sum += (double)value * scale * triples.Length;
                }
                AddScaled(entityGrads.Row(anchor), gAnchor, scale);
                AddScaled(entityGrads.Row(target), gTarget, scale);
                AddScaled(relationGrads.Row(row), gRelation, scale);
                for (int j = 0; j < k; j++)
                    AddScaled(entityGrads.Row(ids[j]), gNegatives.AsSpan(j * d, d), scale);
            }
            return sum;
        }
    }

    private static void AddScaled(Span<float> destination, ReadOnlySpan<float> source, float scale) =>
        System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(source, scale, destination, destination);

    /// <summary>Both directions of every triple as queries (reciprocal rows when the model has inverse relations).</summary>
    internal static Query[] Queries(KgModel model, ReadOnlySpan<Triple> triples)
    {
        var result = new Query[triples.Length * 2];
        for (int i = 0; i < triples.Length; i++)
        {
            var t = triples[i];
            var (row, headSide) = model.ResolveRelation(t.Relation, QuerySide.Tail);
            result[2 * i] = new Query(t.Head, row, headSide, t.Tail);
            (row, headSide) = model.ResolveRelation(t.Relation, QuerySide.Head);
            result[2 * i + 1] = new Query(t.Tail, row, headSide, t.Head);
        }
        return result;
    }

    /// <summary>Per relation, the probability of corrupting the head: tph / (tph + hpt) (Wang et al. 2014).</summary>
    internal static double[] BernoulliProbabilities(ReadOnlySpan<Triple> triples, int numRelations)
    {
        var heads = new HashSet<long>[numRelations];
        var tails = new HashSet<long>[numRelations];
        var counts = new long[numRelations];
        foreach (var t in triples)
        {
            (heads[t.Relation] ??= []).Add(t.Head);
            (tails[t.Relation] ??= []).Add(t.Tail);
            counts[t.Relation]++;
        }
        var p = new double[numRelations];
        for (int r = 0; r < numRelations; r++)
        {
            if (counts[r] == 0)
            {
                p[r] = 0.5;
                continue;
            }
            double tph = (double)counts[r] / heads[r].Count, hpt = (double)counts[r] / tails[r].Count;
            p[r] = tph / (tph + hpt);
        }
        return p;
    }

    /// <summary>Scratch of 1-N training (query, score and gradient buffers reused across batches).</summary>
    internal sealed class OneToNWorkspace(KgModel model)
    {
        private readonly int[] _allRows = Enumerable.Range(0, model.NumEntities).ToArray();
        private RowGradients? _relationGrads;
        private float[] _q = [], _scores = [], _gq = [], _gEntities = [];

        /// <summary>Score tiles smaller than this are normalised on the calling thread.</summary>
        private const long SerialSoftmaxValues = 1 << 18;

        private static float[] Buffer(ref float[] buffer, long length)
        {
            if (buffer.Length < length)
                buffer = new float[length];
            return buffer;
        }

        /// <summary>Loss of a batch and its gradients: dense for entities (<c>N × D</c>), gathered for relations.</summary>
        /// <remarks>With <see cref="KgTrainingOptions.EntityDropout"/> or <see cref="KgTrainingOptions.RelationDropout"/> on,
        /// the masks come from <paramref name="dropoutSeed"/> alone, so the same seed gives the same loss (finite differences rely on it).</remarks>
        public double Compute(ReadOnlySpan<Query> batch, KgTrainingOptions options, float[] gEntities, RowGradients gRelations, ulong dropoutSeed = 0)
        {
            int b = batch.Length, n = model.NumEntities, d = model.Entities.Dims, dr = model.Relations.Dims;
            var table = model.Entities.Weight;
            var relations = model.Relations.Weight;
            var q = Buffer(ref _q, (long)b * d).AsSpan(0, b * d);
            bool dropout = options.EntityDropout > 0 || options.RelationDropout > 0;
            // Dropped-out copies of the anchor and relation rows (mask already scaled by 1 / (1 − p)).
            float[]? anchorMasks = null, relationMasks = null, droppedAnchors = null, droppedRelations = null;
            if (dropout)
            {
                var random = new SeededRandom(dropoutSeed ^ 0xA0761D6478BD642FUL);
                anchorMasks = DropoutMasks(random, b * d, options.EntityDropout);
                relationMasks = DropoutMasks(random, b * dr, options.RelationDropout);
                droppedAnchors = new float[b * d];
                droppedRelations = new float[b * dr];
                for (int i = 0; i < b; i++)
                {
                    System.Numerics.Tensors.TensorPrimitives.Multiply(table.GetRow<float>(batch[i].Anchor), anchorMasks.AsSpan(i * d, d), droppedAnchors.AsSpan(i * d, d));
                    System.Numerics.Tensors.TensorPrimitives.Multiply(relations.GetRow<float>(batch[i].Relation), relationMasks.AsSpan(i * dr, dr), droppedRelations.AsSpan(i * dr, dr));
                }
            }
            for (int i = 0; i < b; i++)
            {
                if (dropout)
                    model.Query(droppedAnchors.AsSpan(i * d, d), droppedRelations.AsSpan(i * dr, dr), batch[i].HeadSide, q.Slice(i * d, d));
                else
                    model.Query(table.GetRow<float>(batch[i].Anchor), relations.GetRow<float>(batch[i].Relation), batch[i].HeadSide, q.Slice(i * d, d));
            }
            var scoresArray = Buffer(ref _scores, (long)b * n);
            model.Entities.AsLinear(q, scoresArray.AsSpan(0, b * n));
            // Softmax cross-entropy; scores become G = (softmax − onehot) / b.
            var rowLoss = new double[b];
            var queries = batch.ToArray();
            void SoftmaxRow(int i)
            {
                var s = scoresArray.AsSpan((int)((long)i * n), n);
                float max = System.Numerics.Tensors.TensorPrimitives.Max<float>(s);
                float target = s[queries[i].Target];
                System.Numerics.Tensors.TensorPrimitives.Subtract(s, max, s);
                System.Numerics.Tensors.TensorPrimitives.Exp(s, s);
                float z = System.Numerics.Tensors.TensorPrimitives.Sum<float>(s);
                rowLoss[i] = Math.Log(z) + max - target;
                System.Numerics.Tensors.TensorPrimitives.Multiply(s, 1f / (z * b), s);
                s[queries[i].Target] -= 1f / b;
            }
            // A small score tile (a small graph) is cheaper to normalise on this thread than to hand out.
            if ((long)b * n < SerialSoftmaxValues || options.Threads == 1)
            {
                for (int i = 0; i < b; i++)
                    SoftmaxRow(i);
            }
            else
            {
                Parallel.For(0, b, new ParallelOptions { MaxDegreeOfParallelism = options.Threads }, SoftmaxRow);
            }
            double loss = 0;
            for (int i = 0; i < b; i++)
                loss += rowLoss[i];
            // gQ = G · E and gE = Gᵀ · Q in one call, reading the entity table and G where they are.
            var gq = Buffer(ref _gq, (long)b * d).AsSpan(0, b * d);
            model.Entities.AsLinearBackward(q, scoresArray.AsSpan(0, b * n), gq, gEntities.AsSpan(0, n * d));
            bool regularizeRelation = model.Name != "rotate";
            float scale = 1f / b;
            float relationWeight = options.RelationRegularizationWeight ?? options.RegularizationWeight;
            var gDroppedAnchor = dropout ? new float[d] : null;
            var gDroppedRelation = dropout ? new float[dr] : null;
            for (int i = 0; i < b; i++)
            {
                var query = queries[i];
                var anchorRow = table.GetRow<float>(query.Anchor);
                var relationRow = relations.GetRow<float>(query.Relation);
                var gAnchor = gEntities.AsSpan(query.Anchor * d, d);
                var gRelation = gRelations.Row(query.Relation);
                if (dropout)
                {
                    // q was formed from a ∘ m_a and r ∘ m_r: the chain rule multiplies each gradient by its mask.
                    Array.Clear(gDroppedAnchor!);
                    Array.Clear(gDroppedRelation!);
                    model.QueryBackward(droppedAnchors.AsSpan(i * d, d), droppedRelations.AsSpan(i * dr, dr), query.HeadSide, gq.Slice(i * d, d), gDroppedAnchor, gDroppedRelation);
                    System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(gDroppedAnchor, anchorMasks.AsSpan(i * d, d), gAnchor, gAnchor);
                    System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(gDroppedRelation, relationMasks.AsSpan(i * dr, dr), gRelation, gRelation);
                }
                else
                {
                    model.QueryBackward(anchorRow, relationRow, query.HeadSide, gq.Slice(i * d, d), gAnchor, gRelation);
                }
                loss += b * Losses.Regularize(options.Regularizer, options.RegularizationWeight, model.IsComplex, anchorRow, gAnchor, scale);
                loss += b * Losses.Regularize(options.Regularizer, options.RegularizationWeight, model.IsComplex, table.GetRow<float>(query.Target), gEntities.AsSpan(query.Target * d, d), scale);
                if (regularizeRelation)
                    loss += b * Losses.Regularize(options.Regularizer, relationWeight, model.IsComplex, relationRow, gRelation, scale);
            }
            return loss / b;
        }

        /// <summary><paramref name="length"/> inverted-dropout factors: 0 with probability <paramref name="p"/>, else 1 / (1 − p).</summary>
        private static float[] DropoutMasks(SeededRandom random, int length, float p)
        {
            var mask = new float[length];
            float keep = 1f / (1f - p);
            for (int i = 0; i < length; i++)
                mask[i] = p > 0 && random.NextSingle() < p ? 0f : keep;
            return mask;
        }

        public double Step(ReadOnlySpan<Query> batch, KgTrainingOptions options, SparseOptimizer entityOptimizer, SparseOptimizer relationOptimizer, ulong dropoutSeed = 0)
        {
            // Compute overwrites every value (the last GEMM writes all N × D), so the buffer is reused as is.
            var gEntities = Buffer(ref _gEntities, (long)model.NumEntities * model.Entities.Dims);
            _relationGrads ??= new RowGradients(model.Relations.NumEmbeddings, model.Relations.Dims);
            double loss = Compute(batch, options, gEntities, _relationGrads, dropoutSeed);
            entityOptimizer.Step(new SparseGradient(model.NumEntities, model.Entities.Dims, _allRows, gEntities));
            _relationGrads.StepAndClear(model.Relations, relationOptimizer);
            return loss;
        }
    }
}
