using System.Text;
using EmbedSharp.Formats.Safetensors;
using EmbedSharp.Graphs.Data;
using EmbedSharp.Graphs.Models;

namespace EmbedSharp.Cli.Io;

/// <summary>
/// A knowledge-graph model as one safetensors file: <c>entities</c> and <c>relations</c> (F32 tables),
/// <c>entity_names</c> and <c>relation_names</c> (U8, UTF-8 names joined by line feeds), and metadata entries
/// <c>kg.*</c> holding the model's settings (<see cref="KgModel.Settings"/>) plus <c>kg.training</c>, the
/// training settings as JSON. The Graphs library does no file IO; this is where the parts meet a file.
/// </summary>
internal static class KgModelFile
{
    public const string Prefix = "kg.";

    public static void Save(string path, KgModel model, GraphVocabulary entities, GraphVocabulary relations, string trainingJson)
    {
        var writer = new SafetensorsWriter();
        writer.Add("entities", model.Entities.Weight);
        writer.Add("relations", model.Relations.Weight);
        byte[] en = Names(entities), rn = Names(relations);
        writer.Add<byte>("entity_names", [en.Length], en);
        writer.Add<byte>("relation_names", [rn.Length], rn);
        foreach (var (key, value) in model.Settings())
            writer.Metadata[Prefix + key] = value;
        writer.Metadata[Prefix + "training"] = trainingJson;
        writer.Metadata["format"] = "embedsharp-kg";
        writer.Save(path);
    }

    private static byte[] Names(GraphVocabulary vocabulary) => Encoding.UTF8.GetBytes(string.Join('\n', vocabulary.Names));

    /// <summary>Loads a model saved by <see cref="Save"/>; anything missing or inconsistent is an <see cref="InvalidDataException"/> naming the file.</summary>
    public static (KgModel Model, GraphVocabulary Entities, GraphVocabulary Relations, IReadOnlyDictionary<string, string> Metadata) Load(string op, string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"[{op}] no such file: {path}", path);
        using var reader = SafetensorsReader.Open(path);
        foreach (string name in new[] { "entities", "relations", "entity_names", "relation_names" })
            if (!reader.Contains(name))
                throw new InvalidDataException($"[{op}] {path} has no tensor \"{name}\"; it is not a model written by `embedsharp kg train`");
        var settings = reader.Metadata.Where(kv => kv.Key.StartsWith(Prefix, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key[Prefix.Length..], kv => kv.Value, StringComparer.Ordinal);
        var entityNames = ReadNames(op, path, reader, "entity_names");
        var relationNames = ReadNames(op, path, reader, "relation_names");
        var entityInfo = reader.GetInfo("entities");
        var relationInfo = reader.GetInfo("relations");
        if (entityInfo.Shape.Length != 2 || relationInfo.Shape.Length != 2)
            throw new InvalidDataException($"[{op}] {path}: the entities and relations tensors must be 2-D");
        try
        {
            var model = KgModel.FromTables(settings, reader.ReadSingle("entities"), reader.ReadSingle("relations"));
            if (entityNames.Count != model.NumEntities || relationNames.Count != model.NumRelations)
            {
                model.Dispose();
                throw new InvalidDataException($"[{op}] {path}: {entityNames.Count} entity and {relationNames.Count} relation names for a model of {model.NumEntities} entities and {model.NumRelations} relations");
            }
            return (model, entityNames, relationNames, reader.Metadata);
        }
        catch (InvalidDataException ex) when (!ex.Message.Contains(path, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"[{op}] {path}: {ex.Message}", ex);
        }
    }

    private static GraphVocabulary ReadNames(string op, string path, SafetensorsReader reader, string tensor)
    {
        var info = reader.GetInfo(tensor);
        if (info.DType != SafetensorsDType.U8 || info.Shape.Length != 1)
            throw new InvalidDataException($"[{op}] {path}: tensor \"{tensor}\" must be 1-D U8 (UTF-8 names joined by line feeds)");
        string text = Encoding.UTF8.GetString(reader.ReadBytes(tensor));
        try
        {
            return new GraphVocabulary(text.Length == 0 ? [] : text.Split('\n'));
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException($"[{op}] {path}: tensor \"{tensor}\": {EmbedSharpCli.OneLine(ex)}", ex);
        }
    }

    /// <summary>Reads triples files, naming the file and line in any error.</summary>
    public static TripleSource Open(string op, string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"[{op}] no such file: {path}", path);
        return new TripleSource(path, File.OpenText(path));
    }
}
