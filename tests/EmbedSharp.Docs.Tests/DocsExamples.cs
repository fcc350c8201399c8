using System.IO.Compression;
using EmbedSharp.Formats;
using EmbedSharp.Formats.FastText;
using EmbedSharp.Formats.Mlx;
using EmbedSharp.Formats.Word2Vec;
using EmbedSharp.Optimizers;
using EmbedSharp.Quantization;
using EmbedSharp.Search;
using EmbedSharp.Tables;
using EmbedSharp.Training.Common;
using EmbedSharp.Training.Word2Vec;

namespace EmbedSharp.Docs.Tests;

/// <summary>
/// The C# block of each docs page, as written there (DocsTextTests keeps the two identical), each
/// followed by checks that what the page says happened did happen. They run in the walk-through's
/// folder after the page's commands (WalkthroughTests).
/// </summary>
internal static class DocsExamples
{
    public static void TrainAndQuery()
    {
        // docs-begin train-and-query
        // A corpus is something that can be read again for every epoch: here, the gzipped file.
        var corpus = TextCorpus.FromTextReader(() =>
            new StreamReader(new GZipStream(File.OpenRead("data/quickstart/corpus.txt.gz"), CompressionMode.Decompress)));
        using WordVectors trained = Word2VecTrainer.Train(corpus,
            new Word2VecOptions { Dims = 64, Epochs = 1, Threads = Environment.ProcessorCount });
        Console.WriteLine($"{trained.Vocabulary.Count} words, loss per epoch: {string.Join(", ", trained.Summary.EpochLosses)}");

        // Queries go through KeyedVectors: gensim's most_similar, analogies, similarity and evaluations.
        using var vectors = new KeyedVectors(trained.Vocabulary.Tokens.ToArray(), trained.Vectors);
        foreach (var (word, similarity) in vectors.MostSimilar("sister", topN: 5))
            Console.WriteLine($"{word} {similarity:0.000}");
        string answer = vectors.Analogy("brother", "sister", "son")[0].Word;   // brother : sister :: son : ?
        float goldSilver = vectors.Similarity("gold", "silver");

        // Save for other tools (word2vec binary; the format follows the writer you pick).
        using var table = new WordEmbeddings(trained.Vocabulary.Tokens.ToArray(), trained.Vectors, ownsTable: false);
        Word2VecFormat.Binary.Write("vectors-from-csharp.bin", table);
        // docs-end train-and-query

        Assert.Equal(10_012, trained.Vocabulary.Count);   // data/quickstart/README.md: 10,012 words with count ≥ 5
        Assert.Single(trained.Summary.EpochLosses);
        Assert.False(string.IsNullOrEmpty(answer));
        Assert.InRange(goldSilver, 0.3f, 1f);   // the corpus pairs them often ("gold and silver")
        using var back = FormatDetector.Detect("vectors-from-csharp.bin").Read("vectors-from-csharp.bin");
        Assert.Equal((10_012, 64), (back.NumEmbeddings, back.Dims));
    }

    public static void QuantizeForMlx()
    {
        // docs-begin quantize-for-mlx
        // Any float table: a layer you trained, or vectors read from a file (see load-pretrained.md).
        using var embedding = new Embedding(numEmbeddings: 1_000, dims: 128, new EmbeddingOptions { Seed = 1 });

        // MLX's QuantizedEmbedding.from_embedding: 4 bits, groups of 64 (MLX's defaults).
        var quantized = QuantizedEmbedding.FromEmbedding(embedding, groupSize: 64, bits: 4);
        Console.WriteLine(QuantizationReport.Compare(embedding.Weight, quantized.Table));   // RMS error, row cosine, sizes

        // Lookups and the tied output head work straight from the packed codes.
        float[] rows = new float[2 * 128];
        quantized.Forward(new[] { 3, 998 }, rows);
        float[] logits = new float[1_000];
        quantized.AsLinear(rows.AsSpan(0, 128), logits);

        // An MLX checkpoint: model.safetensors + config.json, read back the same way MLX does.
        new MlxCheckpointWriter().AddQuantized("model.embed_tokens", quantized).Save("mlx-checkpoint");
        using var checkpoint = MlxCheckpoint.Open("mlx-checkpoint");
        var reloaded = checkpoint.ReadQuantizedEmbedding("model.embed_tokens");
        // docs-end quantize-for-mlx

        Assert.True(File.Exists(Path.Combine("mlx-checkpoint", "config.json")));
        Assert.True(checkpoint.Contains("model.embed_tokens.scales"));
        float[] again = new float[2 * 128];
        reloaded.Forward(new[] { 3, 998 }, again);
        Assert.Equal(rows, again);   // the checkpoint holds the same codes, scales and biases
        // Row 3 against itself scores highest of all 1,000 (the head works on the packed table).
        Assert.Equal(3, Array.IndexOf(logits, logits.Max()));
    }

    public static void LoadPretrained()
    {
        // docs-begin load-pretrained
        // A full fastText model: words, n-gram buckets and all; vectors for unknown words from subwords.
        using (var model = FastTextModel.Load("model.bin"))
        {
            float[] kingship = model.GetWordVector("kingship");
            foreach (var (word, similarity) in model.NearestNeighbors("kingliness", k: 5))
                Console.WriteLine($"{word} {similarity:0.000}");
        }

        // Any other file: detect the format from its first bytes, read the first 5,000 words.
        EmbeddingFormat format = FormatDetector.Detect("vectors.vec");
        using WordEmbeddings embeddings = format.Read("vectors.vec", new ReadOptions { Limit = 5_000 });
        Console.WriteLine($"{format.Name}: {embeddings.NumEmbeddings} words × {embeddings.Dims}");

        // KeyedVectors answers gensim's queries over the table.
        using KeyedVectors vectors = embeddings.ToKeyedVectors();
        var nearest = vectors.MostSimilar("sister", topN: 5);
        // docs-end load-pretrained

        Assert.Equal("fasttext-vec", format.Name);
        Assert.Equal((5_000, 32), (embeddings.NumEmbeddings, embeddings.Dims));
        Assert.Equal(5, nearest.Length);
        using var again = FastTextModel.Load("model.bin");
        Assert.DoesNotContain("kingship", again.Dictionary.Words);   // out of vocabulary, yet:
        Assert.Contains(again.GetWordVector("kingship"), v => v != 0f);
    }

    public static void LayerFromCSharp()
    {
        // docs-begin layer-from-csharp
        // 1. A table of 1,000 ids × 32 dims; id 0 is padding (its row stays zero and gets no gradient).
        using var embedding = new Embedding(numEmbeddings: 1_000, dims: 32, new EmbeddingOptions { PaddingIdx = 0, Seed = 1 });

        // 2. Lookups: 4 sequences of 3 ids in, 4 × 3 × 32 floats out (row-major, into your buffer).
        int[] ids = [5, 9, 0, 7, 7, 2, 1, 3, 4, 8, 0, 0];
        float[] output = new float[ids.Length * embedding.Dims];
        embedding.Forward(ids, output);

        // 3. Training: your model gives dLoss/dOutput; the backward pass turns it into a sparse gradient
        //    (distinct rows, summed) and the fused optimizer updates only those rows. Here the loss is
        //    ½‖output − 1‖², so every looked-up row is pulled towards all ones.
        using var optimizer = FusedSparseBackward.Create(embedding.Weight, new Adagrad(lr: 0.5));
        float[] gradOutput = new float[output.Length];
        for (int step = 0; step < 100; step++)
        {
            embedding.Forward(ids, output);
            for (int i = 0; i < output.Length; i++)
                gradOutput[i] = output[i] - 1f;
            embedding.BackwardAndStep(ids, gradOutput, optimizer);   // rows 1–9 change; row 0 and rows 10–999 do not
        }

        // 4. Pooled lookups (EmbeddingBag): bags given as indices + offsets, FBGEMM's CSR layout.
        using var bag = new EmbeddingBag(numEmbeddings: 1_000, dims: 32, new EmbeddingBagOptions { Mode = PoolingMode.Mean, Seed = 1 });
        float[] pooled = bag.Forward(indices: [1, 2, 3, 4, 5], offsets: [0, 2]);   // bag 0 = {1, 2}, bag 1 = {3, 4, 5}: 2 × 32 floats

        // 5. The tied output head: logits over all 1,000 ids for a hidden vector (x · Wᵀ).
        float[] logits = new float[embedding.NumEmbeddings];
        embedding.AsLinear(output.AsSpan(0, embedding.Dims), logits);
        // docs-end layer-from-csharp

        var row = new float[32];
        embedding.Weight.ReadRow(5, row);
        Assert.All(row, v => Assert.InRange(v, 0.95f, 1.05f));   // pulled to ones
        embedding.Weight.ReadRow(0, row);
        Assert.All(row, v => Assert.Equal(0f, v));               // padding untouched
        Assert.Equal(2 * 32, pooled.Length);
        var b1 = new float[32];
        var b2 = new float[32];
        bag.Weight.ReadRow(1, b1);
        bag.Weight.ReadRow(2, b2);
        Assert.Equal((b1[0] + b2[0]) / 2, pooled[0], 1e-6f);
        Assert.InRange(logits[5], 31f, 33f);   // row 5 · row 5 ≈ 32 ones
    }
}
