using System.Numerics.Tensors;
using EmbedSharp.Diagnostics;
using EmbedSharp.Optimizers;
using EmbedSharp.Stores;

namespace EmbedSharp.Orleans.Grains;

/// <summary>
/// The rows of one shard and their optimizer state, keyed by int64 id: rows live in pages of 4,096 rows (no
/// large copies as the shard grows), a row is created on its first write or update and reads zeros before.
/// Updates run core's fused rules (<see cref="ISparseUpdateRule"/>) one row at a time with the client's step
/// number, as the in-process store does, so both hold the same bits after the same steps.
/// </summary>
/// <remarks>Not thread-safe: the grain's turn-based execution serializes the writers.</remarks>
internal sealed class ShardState
{
    private const int PageShift = 12;
    private const int PageRows = 1 << PageShift;
    private readonly Dictionary<long, int> _slotOf = [];
    private readonly List<float[]> _rowPages = [];
    private readonly List<float[]> _statePages = [];
    private long[] _idOf = new long[PageRows];
    private readonly HashSet<long> _distinct = [];   // scratch of Apply's distinct-ids check, kept between calls

    public ShardState(int dims) => Dims = dims;

    public int Dims { get; }

    public int Count { get; private set; }

    /// <summary>The last step applied (its rule and t), or null before the first.</summary>
    public OptimizerStep? LastStep { get; private set; }

    public int StateWidth { get; private set; }

    public long StepNumber => LastStep?.Step ?? 0;

    public Span<float> Row(int slot) => _rowPages[slot >> PageShift].AsSpan((slot & (PageRows - 1)) * Dims, Dims);

    private Span<float> State(int slot) => _statePages[slot >> PageShift].AsSpan((slot & (PageRows - 1)) * StateWidth, StateWidth);

    public void Gather(ReadOnlySpan<long> ids, Span<float> destination)
    {
        for (int i = 0; i < ids.Length; i++)
        {
            Span<float> target = destination.Slice(i * Dims, Dims);
            if (_slotOf.TryGetValue(ids[i], out int slot))
                Row(slot).CopyTo(target);
            else
                target.Clear();
        }
    }

    /// <summary>
    /// Applies <paramref name="step"/> to the rows of <paramref name="ids"/> (distinct) with their summed
    /// <paramref name="gradients"/>. The rule must match the state held. Checks everything before any row
    /// changes; a row whose update is not finite is put back and reported after the others are done.
    /// </summary>
    public void Apply(ReadOnlySpan<long> ids, ReadOnlySpan<float> gradients, OptimizerStep step)
    {
        const string op = "orleans.apply";
        step.Validate(op);
        int width = step.StateWidth(Dims);
        if (LastStep is { } last && (last.Kind != step.Kind || StateWidth != width))
            throw new ArgumentException($"[{op}] the shard holds {last.Kind} state ({StateWidth} floats a row); this step is {step.Kind} ({width} floats a row); a store keeps one rule for its life");
        if (!TensorPrimitives.IsFiniteAll(gradients))
        {
            for (int i = 0; i < gradients.Length; i++)
                if (!float.IsFinite(gradients[i]))
                    throw new NonFiniteException($"[{op}] gradient of id {ids[i / Dims]} holds {gradients[i]} at column {i % Dims}; nothing was changed", step.Step, -1, i % Dims);
        }
        _distinct.Clear();
        _distinct.EnsureCapacity(ids.Length);
        foreach (long id in ids)
            if (!_distinct.Add(id))
                throw new ArgumentException($"[{op}] id {id} appears twice in one step; sum its gradients first");
        var run = new ApplyRows(this, step);
        Dispatch(step, ref run, ids, gradients);
    }

    private interface IRowsAction
    {
        void Run<TRule>(in TRule rule, ReadOnlySpan<long> ids, ReadOnlySpan<float> gradients) where TRule : struct, ISparseUpdateRule;
    }

    private static void Dispatch<TAction>(in OptimizerStep s, ref TAction action, ReadOnlySpan<long> ids, ReadOnlySpan<float> gradients) where TAction : struct, IRowsAction
    {
        switch (s.Kind)
        {
            case OptimizerKind.Sgd: action.Run(new Sgd(s.LearningRate, s.Momentum, 0, s.WeightDecay), ids, gradients); break;
            case OptimizerKind.Adagrad: action.Run(new Adagrad(s.LearningRate, s.LrDecay, s.WeightDecay, s.InitialAccumulatorValue, s.Eps), ids, gradients); break;
            case OptimizerKind.RowwiseAdagrad: action.Run(new RowwiseAdagrad(s.LearningRate, s.Eps, s.WeightDecay), ids, gradients); break;
            case OptimizerKind.Adam: action.Run(new Adam(s.LearningRate, s.Beta1, s.Beta2, s.Eps, s.WeightDecay), ids, gradients); break;
            case OptimizerKind.AdamW: action.Run(new AdamW(s.LearningRate, s.Beta1, s.Beta2, s.Eps, s.WeightDecay), ids, gradients); break;
            case OptimizerKind.LazyAdam: action.Run(new LazyAdam(s.LearningRate, s.Beta1, s.Beta2, s.Eps), ids, gradients); break;
            default: throw new ArgumentException($"[orleans.apply] optimizer kind {s.Kind} is not a rule; valid kinds are Sgd, Adagrad, RowwiseAdagrad, Adam, AdamW, LazyAdam");
        }
    }

    private struct ApplyRows(ShardState shard, OptimizerStep step) : IRowsAction
    {
        public readonly void Run<TRule>(in TRule rule, ReadOnlySpan<long> ids, ReadOnlySpan<float> gradients) where TRule : struct, ISparseUpdateRule
        {
            int dims = shard.Dims;
            shard.SetRule(step, rule);
            StepScalars scalars = rule.Prepare(step.Step, 1.0);
            var weightBackup = new float[dims];
            var stateBackup = new float[shard.StateWidth];
            long firstBad = long.MinValue;
            bool bad = false;
            for (int i = 0; i < ids.Length; i++)
            {
                int slot = shard.SlotFor(ids[i], rule);
                Span<float> weight = shard.Row(slot);
                Span<float> state = shard.StateWidth == 0 ? [] : shard.State(slot);
                weight.CopyTo(weightBackup);
                state.CopyTo(stateBackup);
                rule.UpdateRow(weight, gradients.Slice(i * dims, dims), state, scalars);
                if (!AllFinite(weight) || !AllFinite(state))
                {
                    weightBackup.CopyTo(weight);
                    stateBackup.CopyTo(state);
                    if (!bad)
                        firstBad = ids[i];
                    bad = true;
                }
            }
            if (bad)
                throw new NonFiniteException($"[orleans.apply] the update of id {firstBad} was not finite; that row and its state were put back, the other rows were updated", step.Step, -1, -1);
        }
    }

    // IsFiniteAll is false for an empty span (SGD without momentum keeps no state): an empty span is finite here.
    private static bool AllFinite(ReadOnlySpan<float> values) => values.IsEmpty || TensorPrimitives.IsFiniteAll(values);

    /// <summary>Records the rule; the first one sizes the state and gives every existing row its initial state.</summary>
    private void SetRule<TRule>(OptimizerStep step, in TRule rule) where TRule : struct, ISparseUpdateRule
    {
        if (LastStep is null)
        {
            StateWidth = rule.StateWidth(Dims);
            for (int p = 0; p < _rowPages.Count; p++)
            {
                var page = new float[PageRows * StateWidth];
                _statePages.Add(page);
                for (int r = 0; r < PageRows && StateWidth > 0; r++)
                    rule.InitializeState(page.AsSpan(r * StateWidth, StateWidth));
            }
        }
        LastStep = step;
    }

    private int SlotFor<TRule>(long id, in TRule rule) where TRule : struct, ISparseUpdateRule
    {
        if (_slotOf.TryGetValue(id, out int slot))
            return slot;
        slot = Add(id);
        if (StateWidth > 0)
            rule.InitializeState(State(slot));
        return slot;
    }

    /// <summary>Creates a row of zeros for <paramref name="id"/> (state zero too: callers set it).</summary>
    private int Add(long id)
    {
        int slot = Count;
        if ((slot & (PageRows - 1)) == 0 && (slot >> PageShift) == _rowPages.Count)
        {
            _rowPages.Add(new float[PageRows * Dims]);
            if (LastStep is not null)
                _statePages.Add(new float[PageRows * StateWidth]);
        }
        if (slot == _idOf.Length)
            Array.Resize(ref _idOf, _idOf.Length * 2);
        _idOf[slot] = id;
        _slotOf.Add(id, slot);
        Count++;
        Row(slot).Clear();
        return slot;
    }

    /// <summary>
    /// Writes rows (the last of repeated ids wins). Without <paramref name="states"/>, new rows get the rule's
    /// initial state and existing rows keep theirs; with it (a restore), rows get the given state and the shard
    /// takes <paramref name="optimizer"/> as its rule.
    /// </summary>
    public void Write(ReadOnlySpan<long> ids, ReadOnlySpan<float> rows, OptimizerStep? optimizer, ReadOnlyMemory<float> states)
    {
        const string op = "orleans.write";
        if (!AllFinite(rows))
        {
            for (int i = 0; i < rows.Length; i++)
                if (!float.IsFinite(rows[i]))
                    throw new ArgumentException($"[{op}] row of id {ids[i / Dims]} holds {rows[i]} at column {i % Dims}; rows must be finite");
        }
        if (optimizer is { } o && o.Kind != OptimizerKind.None)
        {
            int width = o.StateWidth(Dims);
            if (states.Length != (long)ids.Length * width)
                throw new ArgumentException($"[{op}] {states.Length} state floats for {ids.Length} rows; {o.Kind} keeps {width} a row");
            if (LastStep is { } last && (last.Kind != o.Kind || StateWidth != width))
                throw new ArgumentException($"[{op}] the shard holds {last.Kind} state; the rows come with {o.Kind} state");
            if (LastStep is null)
            {
                var init = new InitState(this, o);
                Dispatch(o, ref init, ids, rows);
            }
            else if (o.Step > LastStep.Value.Step)
            {
                LastStep = o;
            }
        }
        _slotOf.EnsureCapacity(Count + ids.Length);   // a snapshot load adds its rows without rehashing as it goes
        var initNew = new WriteRows(this, states);
        if (LastStep is { } rule)
            Dispatch(rule, ref initNew, ids, rows);
        else
            initNew.Run(new Sgd(1), ids, rows); // no rule yet: no state to initialise
    }

    /// <summary>Takes <paramref name="step"/>'s rule when the shard has none yet: every row gets the rule's initial state.</summary>
    public void Adopt(OptimizerStep step)
    {
        if (LastStep is not null || step.Kind == OptimizerKind.None)
            return;
        var init = new InitState(this, step with { Step = 0 });
        Dispatch(step, ref init, [], []);
    }

    private readonly struct InitState(ShardState shard, OptimizerStep step) : IRowsAction
    {
        public void Run<TRule>(in TRule rule, ReadOnlySpan<long> ids, ReadOnlySpan<float> gradients) where TRule : struct, ISparseUpdateRule =>
            shard.SetRule(step, rule);
    }

    private readonly struct WriteRows(ShardState shard, ReadOnlyMemory<float> states) : IRowsAction
    {
        private readonly ShardState _shard = shard;

        public void Run<TRule>(in TRule rule, ReadOnlySpan<long> ids, ReadOnlySpan<float> rows) where TRule : struct, ISparseUpdateRule
        {
            int dims = _shard.Dims, width = _shard.StateWidth;
            ReadOnlySpan<float> _states = states.Span;
            bool withState = _states.Length > 0;
            for (int i = 0; i < ids.Length; i++)
            {
                int slot = _shard._slotOf.TryGetValue(ids[i], out int s) ? s : -1;
                bool created = slot < 0;
                if (created)
                    slot = _shard.Add(ids[i]);
                rows.Slice(i * dims, dims).CopyTo(_shard.Row(slot));
                if (width == 0)
                    continue;
                if (withState)
                    _states.Slice(i * width, width).CopyTo(_shard.State(slot));
                else if (created)
                    rule.InitializeState(_shard.State(slot));
            }
        }
    }

    /// <summary>Deletes rows (ids with no row are ignored): the last row moves into the freed slot.</summary>
    public void Delete(ReadOnlySpan<long> ids)
    {
        foreach (long id in ids)
        {
            if (!_slotOf.Remove(id, out int slot))
                continue;
            int last = Count - 1;
            if (slot != last)
            {
                long moved = _idOf[last];
                Row(last).CopyTo(Row(slot));
                if (StateWidth > 0)
                    State(last).CopyTo(State(slot));
                _idOf[slot] = moved;
                _slotOf[moved] = slot;
            }
            Count--;
        }
    }

    /// <summary>Drops every row and the rule.</summary>
    public void Clear()
    {
        _slotOf.Clear();
        _rowPages.Clear();
        _statePages.Clear();
        _idOf = new long[PageRows];
        Count = 0;
        LastStep = null;
        StateWidth = 0;
    }

    /// <summary>The ids held whose bucket is in <paramref name="buckets"/>, ascending.</summary>
    public long[] IdsIn(BucketRange buckets)
    {
        var ids = new List<long>();
        for (int slot = 0; slot < Count; slot++)
            if (buckets.Contains(BucketRouter.BucketOf(_idOf[slot])))
                ids.Add(_idOf[slot]);
        long[] result = [.. ids];
        Array.Sort(result);
        return result;
    }

    /// <summary>Every id held, ascending.</summary>
    public long[] SortedIds()
    {
        long[] result = _idOf.AsSpan(0, Count).ToArray();
        Array.Sort(result);
        return result;
    }

    /// <summary>Copies the rows and state of <paramref name="ids"/> (all held) into the buffers.</summary>
    public void Read(ReadOnlySpan<long> ids, Span<float> rows, Span<float> states)
    {
        for (int i = 0; i < ids.Length; i++)
        {
            int slot = _slotOf[ids[i]];
            Row(slot).CopyTo(rows.Slice(i * Dims, Dims));
            if (StateWidth > 0)
                State(slot).CopyTo(states.Slice(i * StateWidth, StateWidth));
        }
    }

    /// <summary>Sum of every row (a cheap fingerprint for tests).</summary>
    internal double Checksum()
    {
        double sum = 0;
        for (int slot = 0; slot < Count; slot++)
            sum += TensorPrimitives.Sum<float>(Row(slot));
        return sum;
    }
}
