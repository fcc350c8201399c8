using EmbedSharp.Diagnostics;

namespace EmbedSharp.Tables;

/// <summary>
/// Maps 64-bit global ids (hashed recsys ids, ids of a sharded store) to the local slots of one
/// table: layers take int64 <c>indices</c> at their boundary and look up row <c>slot(id)</c>.
/// </summary>
/// <remarks>
/// <see cref="Identity"/> (the default of every layer) maps id <c>i</c> to slot <c>i</c> and is checked
/// against <c>[0, NumEmbeddings)</c> exactly as the int32 overloads are, so the common case costs one
/// narrowing pass. <see cref="FromIds"/> builds a dictionary remap; a store that caches remote rows in
/// local slots derives its own. A remap is read concurrently by lookups and must not change during one.
/// </remarks>
public abstract class IdRemap
{
    /// <summary>The identity: id <c>i</c> is slot <c>i</c>.</summary>
    public static IdRemap Identity { get; } = new IdentityRemap();

    /// <summary>Whether this is <see cref="Identity"/> (layers then skip the lookup).</summary>
    public bool IsIdentity => ReferenceEquals(this, Identity);

    /// <summary>The local slot of global id <paramref name="id"/>; false when the id has none.</summary>
    public abstract bool TryGetSlot(long id, out int slot);

    /// <summary>
    /// A remap that gives <c>globalIds[i]</c> slot <c>i</c> (so a table of <c>globalIds.Length</c> rows holds them in order).
    /// </summary>
    /// <exception cref="ArgumentException">An id occurs twice.</exception>
    public static IdRemap FromIds(ReadOnlySpan<long> globalIds)
    {
        var map = new Dictionary<long, int>(globalIds.Length);
        for (int i = 0; i < globalIds.Length; i++)
        {
            if (!map.TryAdd(globalIds[i], i))
                ThrowHelper.Argument("id_remap.create", nameof(globalIds), $"globalIds[{i}] = {globalIds[i]} already has slot {map[globalIds[i]]}; every id needs one slot");
        }
        return new DictionaryRemap(map);
    }

    private sealed class IdentityRemap : IdRemap
    {
        public override bool TryGetSlot(long id, out int slot)
        {
            slot = (int)id;
            return (ulong)id <= int.MaxValue;
        }
    }

    private sealed class DictionaryRemap(Dictionary<long, int> map) : IdRemap
    {
        public override bool TryGetSlot(long id, out int slot) => map.TryGetValue(id, out slot);
    }
}
