using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;

namespace OcspFunctions.Engine;

public sealed partial class WorkPlan
{
    /// <summary>
    /// The plan of <see cref="BuildPerSerial"/>, tier for tier and in the same order, with the listed issued serials looked
    /// up shard by shard: a counting sort of their entry numbers by index shard, so each shard is searched while it is in
    /// cache rather than one random shard a serial (at 10M serials that lookup was most of a nothing-to-do run). Shards are
    /// planned in parallel (read-only lookups). Every status is numbered — issued entries by their place in the list, the
    /// few not from the list (revoked serials not listed, kept ones) after it — and a tier is a set of numbers: one byte a
    /// number says which, so tiers come out in list order by a scan instead of a sort of 10M members, and a serial is made
    /// only for work, at the end.
    /// </summary>
    private static WorkPlan BuildByShard(DecidedStatuses statuses, SerialExpiryMap issued, IndexEntries entries, DateTimeOffset now,
        Func<ReadOnlySpan<byte>, IndexEntry, DateTimeOffset> refreshDue)
    {
        var (order, starts) = ByShard(statuses, issued, entries);
        var notGood = statuses.ListedNotGood();
        bool[]? isNotGood = null;
        if (notGood.Count > 0)
        {
            isNotGood = new bool[issued.Count];
            foreach (int entry in notGood.Keys) isNotGood[entry] = true;
        }
        var unlisted = statuses.Unlisted().ToList();
        var tiers = new Tiers(issued.Count + unlisted.Count);

        // Parts of consecutive shards, a few per processor so uneven shards even out; each writes only its own numbers' bytes.
        int parts = Math.Min(entries.ShardCount, Environment.ProcessorCount * 4);
        var counts = new Counts[parts + 1];
        var dues = new List<Due>[parts + 1];
        Parallel.For(0, parts, p =>
        {
            var (counted, due) = (new Counts(), new List<Due>());
            for (int k = entries.ShardCount * p / parts; k < entries.ShardCount * (p + 1) / parts; k++)
            {
                for (int i = starts[k]; i < starts[k + 1]; i++)
                {
                    int number = order[i];
                    var bytes = issued.BytesAt(number);
                    var status = isNotGood is not null && isNotGood[number] ? notGood[number] : CertStatus.Good;
                    bool known = entries.TryGetValue(k, bytes, out var entry);
                    tiers.Add(number, bytes, status, known, entry, now, refreshDue, ref counted, due);
                }
            }
            (counts[p], dues[p]) = (counted, due);
        });
        var rest = new Counts();
        var restDue = new List<Due>();
        for (int j = 0; j < unlisted.Count; j++)
        {
            var (serial, status) = unlisted[j];
            bool known = entries.TryGetValue(serial, out var entry);
            tiers.Add(issued.Count + j, serial.Bytes, status, known, entry, now, refreshDue, ref rest, restDue);
        }
        (counts[parts], dues[parts]) = (rest, restDue);

        var allDue = dues.SelectMany(d => d).ToArray();
        Array.Sort(allDue); // by due time, then number: BuildPerSerial's order
        (SerialNumber, CertStatus) Member(int number) =>
            number >= issued.Count ? (unlisted[number - issued.Count].Key, unlisted[number - issued.Count].Value)
            : (issued.SerialAt(number), isNotGood is not null && isNotGood[number] ? notGood[number] : CertStatus.Good);
        return new WorkPlan(
            [
                Materialize(tiers.Numbers(Tiers.Revocation, descending: false), Member),
                Materialize(tiers.Numbers(Tiers.NewSerial, descending: true), Member), // newest first: see WorkTier.NewSerials
                Materialize(tiers.Numbers(Tiers.Other, descending: false), Member),
                Materialize([.. allDue.Select(d => d.Number)], Member),
            ],
            counts.Sum(c => c.Unchanged), counts.Sum(c => c.Known));
    }

    /// <summary>
    /// The listed entries' numbers grouped by shard, ascending within each: shard k's are <c>order[starts[k]..starts[k + 1]]</c>.
    /// Each serial's shard is hashed twice (count, then place) rather than kept: an int a serial is 40 MB at 10M serials.
    /// </summary>
    private static (int[] Order, int[] Starts) ByShard(DecidedStatuses statuses, SerialExpiryMap issued, IndexEntries entries)
    {
        var starts = new int[entries.ShardCount + 1];
        for (int entry = 0; entry < issued.Count; entry++)
            if (statuses.Listed(entry)) starts[entries.ShardOf(issued.BytesAt(entry)) + 1]++;
        for (int k = 0; k < entries.ShardCount; k++) starts[k + 1] += starts[k];
        var order = new int[starts[^1]];
        var next = starts[..^1];
        for (int entry = 0; entry < issued.Count; entry++)
            if (statuses.Listed(entry)) order[next[entries.ShardOf(issued.BytesAt(entry))]++] = entry;
        return (order, starts);
    }

    /// <summary>The tier members' serials and statuses, made in parallel (10M serials at a bulk load).</summary>
    private static (SerialNumber, CertStatus)[] Materialize(int[] numbers, Func<int, (SerialNumber, CertStatus)> member)
    {
        var result = new (SerialNumber, CertStatus)[numbers.Length];
        const int chunk = 65_536;
        Parallel.For(0, (numbers.Length + chunk - 1) / chunk, c =>
        {
            for (int i = c * chunk; i < Math.Min(numbers.Length, (c + 1) * chunk); i++) result[i] = member(numbers[i]);
        });
        return result;
    }

    private struct Counts
    {
        public int Unchanged, Known;
    }

    /// <summary>A due member: sorted by due time (ticks), then by number.</summary>
    private readonly record struct Due(long Ticks, int Number) : IComparable<Due>
    {
        public int CompareTo(Due other) => Ticks != other.Ticks ? Ticks.CompareTo(other.Ticks) : Number.CompareTo(other.Number);
    }

    /// <summary>Which of the first three tiers each number is in (0: none — unchanged or due).</summary>
    private sealed class Tiers(int count)
    {
        public const byte Revocation = 1, NewSerial = 2, Other = 3;

        private readonly byte[] _tier = new byte[count];

        /// <summary>One status, as <see cref="BuildPerSerial"/> sorts it.</summary>
        public void Add(int number, ReadOnlySpan<byte> bytes, CertStatus status, bool known, in IndexEntry entry, DateTimeOffset now,
            Func<ReadOnlySpan<byte>, IndexEntry, DateTimeOffset> refreshDue, ref Counts counts, List<Due> due)
        {
            if (known) counts.Known++;
            if (!known || !entry.SameStatus(status))
            {
                _tier[number] = status.Kind == CertStatusKind.Revoked ? Revocation : !known ? NewSerial : Other;
                return;
            }
            var at = refreshDue(bytes, entry);
            if (at <= now) due.Add(new Due(at.UtcTicks, number));
            else counts.Unchanged++;
        }

        /// <summary>The numbers in <paramref name="tier"/>, ascending or descending.</summary>
        public int[] Numbers(byte tier, bool descending)
        {
            var numbers = new List<int>();
            if (descending) { for (int n = _tier.Length - 1; n >= 0; n--) if (_tier[n] == tier) numbers.Add(n); }
            else { for (int n = 0; n < _tier.Length; n++) if (_tier[n] == tier) numbers.Add(n); }
            return [.. numbers];
        }
    }
}
