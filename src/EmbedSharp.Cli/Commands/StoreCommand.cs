using System.CommandLine;
using System.Globalization;
using System.Net;
using EmbedSharp.Cli.Output;
using EmbedSharp.Models.Data;
using EmbedSharp.Orleans;
using EmbedSharp.Orleans.Hosting;
using EmbedSharp.Orleans.Training;
using EmbedSharp.Stores;

namespace EmbedSharp.Cli.Commands;

/// <summary><c>embedsharp store silo|train</c>: run an Orleans silo that hosts embedding shards, and train against a cluster.</summary>
internal static class StoreCommand
{
    public static Command Create(IConsole console)
    {
        var cmd = new Command("store", "Embedding tables on a cluster: run an Orleans silo that holds row shards, train a model whose rows live there.\n\nExamples:\n  embedsharp store silo --redis 127.0.0.1:6379 --snapshots /shared/snapshots\n  embedsharp store silo --redis 127.0.0.1:6379 --port 11112 --gateway-port 30001 --snapshots /shared/snapshots\n  embedsharp store train u.data --redis 127.0.0.1:6379 --dims 32 --epochs 5 --snapshot-every 1\n  embedsharp store train u.data --local --dims 32 --epochs 5");
        cmd.Subcommands.Add(Silo(console));
        cmd.Subcommands.Add(Train(console));
        return cmd;
    }

    private static Command Silo(IConsole console)
    {
        var redis = new Option<string>("--redis") { Description = "The Redis server that holds the cluster's membership (host:port).", Required = true };
        var cluster = new Option<string>("--cluster") { Description = "Cluster id: silos and clients with the same id and Redis form one cluster.", DefaultValueFactory = _ => "embedsharp" };
        var host = new Option<string>("--host") { Description = "Address to bind and advertise. Loopback keeps the silo on this machine; give this machine's address for a cluster of several machines.", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "Silo-to-silo port.", DefaultValueFactory = _ => 11111 };
        var gateway = new Option<int>("--gateway-port") { Description = "Port clients connect to.", DefaultValueFactory = _ => 30000 };
        var snapshots = new Option<string?>("--snapshots") { Description = "Shared folder for shard snapshots (every silo must see the same folder). Without it, shards lost with a silo come back empty." };
        var lease = new Option<double>("--lease") { Description = "Seconds the grain directory holds a crashed silo's shards before they are placed again (Orleans' default is 30).", DefaultValueFactory = _ => 5 };
        var verbose = new Option<bool>("--verbose") { Description = "Log Orleans' informational messages to standard error." };
        var cmd = new Command("silo", "Run an Orleans silo that hosts embedding shards until Ctrl-C; membership in Redis.\n\nExamples:\n  embedsharp store silo --redis 127.0.0.1:6379 --snapshots /shared/snapshots\n  embedsharp store silo --redis 10.0.0.5:6379 --host 10.0.0.7 --snapshots /mnt/shared/snapshots\n\nRun one per machine (or several on one machine with different --port and --gateway-port). Clients reach the cluster through the same --redis and --cluster.")
        {
            redis, cluster, host, port, gateway, snapshots, lease, verbose,
        };
        cmd.SetAction(async (r, ct) =>
        {
            const string op = "store silo";
            string hostText = r.GetValue(host)!;
            IPAddress address = string.Equals(hostText, "localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback
                : IPAddress.TryParse(hostText, out IPAddress? parsed) ? parsed
                : throw new ArgumentException($"[{op}] --host '{hostText}' is not an IP address (127.0.0.1 keeps the silo on this machine)");
            if (!IPAddress.IsLoopback(address))
                console.Error.WriteLine($"warning: [{op}] binding to {address}: any machine that reaches it can read and change the tables (no authentication)");
            double leaseSeconds = r.GetValue(lease);
            if (!(leaseSeconds > 0 && leaseSeconds <= 300))
                throw new ArgumentOutOfRangeException(nameof(lease), leaseSeconds, $"[{op}] --lease {leaseSeconds} is out of range (0 < seconds ≤ 300)");
            string? folder = r.GetValue(snapshots) is { } s ? Path.GetFullPath(s) : null;
            if (folder is not null)
                Directory.CreateDirectory(folder);
            var settings = new ShardSiloSettings
            {
                Redis = r.GetValue(redis)!, ClusterId = r.GetValue(cluster)!, Address = address, SiloPort = r.GetValue(port), GatewayPort = r.GetValue(gateway),
                Shards = new ShardSiloOptions { SnapshotRoot = folder, RangeLeaseDuration = TimeSpan.FromSeconds(leaseSeconds) },
                LogLevel = r.GetValue(verbose) ? Microsoft.Extensions.Logging.LogLevel.Information : Microsoft.Extensions.Logging.LogLevel.Warning,
            };
            await ShardSilo.RunAsync(settings, () =>
            {
                console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"silo ready: cluster '{settings.ClusterId}', silo {address}:{settings.SiloPort}, gateway {settings.GatewayPort}, snapshots {folder ?? "(none)"}; Ctrl-C stops"));
                console.Out.Flush();
            }, ct);
            return EmbedSharpCli.Ok;
        });
        return cmd;
    }

    private static Command Train(IConsole console)
    {
        var ratings = new Argument<string>("ratings") { Description = "Ratings: user<TAB>item<TAB>rating<TAB>timestamp per line (MovieLens u.data form)." };
        var redis = new Option<string?>("--redis") { Description = "The cluster's Redis (host:port); the rows live on the cluster's silos." };
        var local = new Option<bool>("--local") { Description = "Keep the rows in this process (InProcessShardedStore) instead: the same loss curve, for comparison." };
        var cluster = new Option<string>("--cluster") { Description = "Cluster id.", DefaultValueFactory = _ => "embedsharp" };
        var table = new Option<string>("--table") { Description = "Table name on the cluster (names the shards and the snapshot folder).", DefaultValueFactory = _ => "mf" };
        var shards = new Option<int>("--shards") { Description = "Row shards (at least one per core of every silo).", DefaultValueFactory = _ => 4 };
        var dims = new Option<int>("--dims") { Description = "Floats per row.", DefaultValueFactory = _ => 32 };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the ratings.", DefaultValueFactory = _ => 5 };
        var batch = new Option<int>("--batch") { Description = "Ratings per mini-batch.", DefaultValueFactory = _ => 2048 };
        var lr = new Option<double>("--lr") { Description = "Adagrad learning rate (the optimizer runs in the store).", DefaultValueFactory = _ => 0.1 };
        var seed = new Option<int>("--seed") { Description = "Seed of the initial rows and shuffles.", DefaultValueFactory = _ => 1 };
        var snapshotEvery = new Option<int>("--snapshot-every") { Description = "Snapshot the table to the silos' shared folder every N epochs (snapshots epoch-N); 0: never." };
        var json = CommonOptions.Json();
        var cmd = new Command("train", "Train a matrix factorization whose rows live in a store: gather, gradients here, Adagrad in the store.\n\nExamples:\n  embedsharp store train u.data --redis 127.0.0.1:6379 --dims 32 --epochs 5 --snapshot-every 1\n  embedsharp store train u.data --local --dims 32 --epochs 5 --json")
        {
            ratings, redis, local, cluster, table, shards, dims, epochs, batch, lr, seed, snapshotEvery, json,
        };
        cmd.SetAction(async (r, ct) =>
        {
            const string op = "store train";
            string? redisAddress = r.GetValue(redis);
            bool isLocal = r.GetValue(local);
            if ((redisAddress is null) == !isLocal)
                throw new ArgumentException($"[{op}] give either --redis HOST:PORT (train against a cluster) or --local");
            int d = r.GetValue(dims), every = r.GetValue(snapshotEvery), shardCount = r.GetValue(shards);
            if (d < 1)
                throw new ArgumentOutOfRangeException(nameof(dims), d, $"[{op}] --dims must be ≥ 1");
            if (every < 0)
                throw new ArgumentOutOfRangeException(nameof(snapshotEvery), every, $"[{op}] --snapshot-every must be ≥ 0");
            if (isLocal && every > 0)
                throw new ArgumentException($"[{op}] --snapshot-every writes to the silos' shared folder; it needs --redis");
            string path = r.GetValue(ratings)!;
            RatingData data;
            using (var reader = new StreamReader(path))
                data = MovieLens.ReadRatings(reader, path);
            long rows = data.Users.Max() + 1L + data.Items.Max() + 1L;
            var options = new StoreFactorizationOptions { Epochs = r.GetValue(epochs), BatchSize = r.GetValue(batch), LearningRate = r.GetValue(lr), Seed = r.GetValue(seed) };
            bool asJson = r.GetValue(json);
            console.Out.WriteLine($"{data.Count:N0} ratings, {rows:N0} rows × {d} dims, {(isLocal ? "in this process" : $"on cluster '{r.GetValue(cluster)}' ({shardCount} shards)")}");
            try
            {
                ShardClusterClient? client = isLocal ? null : await ShardClusterClient.ConnectAsync(new ShardClientSettings { Redis = redisAddress!, ClusterId = r.GetValue(cluster)! }, ct);
                await using (client)
                {
                    IEmbeddingStore store = isLocal
                        ? new InProcessShardedStore(r.GetValue(table)!, checked((int)rows), d, new InProcessStoreOptions { Shards = shardCount })
                        : new OrleansEmbeddingStore(client!.Client, new OrleansStoreOptions { Table = r.GetValue(table)!, NumEmbeddings = rows, Dims = d, ShardCount = shardCount });
                    await using (store)
                    {
                        await StoreFactorization.TrainAsync(store, data.Users, data.Items, data.Ratings, options, e =>
                        {
                            if (asJson)
                                console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{{\"epoch\":{e.Epoch},\"mse\":{e.Mse:R},\"seconds\":{e.Seconds:0.###},\"ratingsPerSecond\":{e.RatingsPerSecond:0}}}"));
                            else
                                console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epoch {e.Epoch}: mse {e.Mse:0.0000}  {e.Seconds:0.00} s  {e.RatingsPerSecond:N0} ratings/s"));
                            if (every > 0 && e.Epoch % every == 0 && store is OrleansEmbeddingStore orleans)
                                orleans.SnapshotToSharedFolderAsync($"epoch-{e.Epoch}", ct).GetAwaiter().GetResult();
                        }, ct);
                    }
                }
            }
            catch (TimeoutException ex)
            {
                console.Error.WriteLine($"error: {EmbedSharpCli.OneLine(ex)}");
                return EmbedSharpCli.UsageError;
            }
            return EmbedSharpCli.Ok;
        });
        return cmd;
    }
}
