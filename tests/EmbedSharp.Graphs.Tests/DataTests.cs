using EmbedSharp.Graphs.Data;

namespace EmbedSharp.Graphs.Tests;

public class DataTests
{
    private static TripleSource Src(string name, string text) => new(name, new StringReader(text));

    [Fact]
    public void ReadsSplitsOverTrainingVocabulary()
    {
        var kg = KnowledgeGraph.Read(Src("train.txt", "a\tr\tb\nb\ts\tc\r\n"), Src("valid.txt", "c\tr\ta\n"), Src("test.txt", "a\ts\tc"));
        Assert.Equal(3, kg.Entities.Count);
        Assert.Equal(2, kg.Relations.Count);
        Assert.Equal(new Triple(0, 0, 1), kg.Train[0]);
        Assert.Equal(new Triple(1, 1, 2), kg.Train[1]);
        Assert.Equal(new Triple(2, 0, 0), kg.Valid[0]);
        Assert.Equal(new Triple(0, 1, 2), kg.Test[0]);
        Assert.Equal("c", kg.Entities[2]);
    }

    [Theory]
    [InlineData("a\tr\tb\na\tr\n", "train.txt:2", "2 tab-separated")]
    [InlineData("a\tr\tb\tx\n", "train.txt:1", "4 tab-separated")]
    [InlineData("a r b\n", "train.txt:1", "1 tab-separated")]
    [InlineData("a\t\tb\n", "train.txt:1", "empty field")]
    [InlineData("a\tr\tb\n\na\tr\tc\n", "train.txt:2", "blank line")]
    [InlineData("", "train.txt", "no triples")]
    [InlineData("\n\n", "train.txt", "no triples")]
    public void MalformedTrainingFileNamesFileAndLine(string text, string where, string what)
    {
        var ex = Assert.Throws<InvalidDataException>(() => KnowledgeGraph.Read(Src("train.txt", text)));
        Assert.Contains(where, ex.Message);
        Assert.Contains(what, ex.Message);
        Assert.StartsWith("[kg.read]", ex.Message);
    }

    [Fact]
    public void TestTripleWithUnseenEntityNamesFileAndLine()
    {
        var ex = Assert.Throws<InvalidDataException>(() =>
            KnowledgeGraph.Read(Src("train.txt", "a\tr\tb\n"), Src("valid.txt", "a\tr\tb\n"), Src("data/test.txt", "a\tr\tb\nb\tr\tzebra\n")));
        Assert.Contains("data/test.txt:2", ex.Message);
        Assert.Contains("entity 'zebra'", ex.Message);
        var rel = Assert.Throws<InvalidDataException>(() => KnowledgeGraph.Read(Src("train.txt", "a\tr\tb\n"), Src("valid.txt", "a\tq\tb\n")));
        Assert.Contains("valid.txt:1", rel.Message);
        Assert.Contains("relation 'q'", rel.Message);
    }

    [Fact]
    public void UnseenEntitiesCanBeIncludedOnRequest()
    {
        var kg = KnowledgeGraph.Read(Src("train.txt", "a\tr\tb\n"), Src("valid.txt", "a\tr\tc\n"), Src("test.txt", "d\tr\tb\n"), includeUnseenEntities: true);
        Assert.Equal(["a", "b", "c", "d"], kg.Entities.Names);
        Assert.Equal(new Triple(3, 0, 1), kg.Test[0]);
        // Unseen relations stay an error: a model could not even score them.
        var ex = Assert.Throws<InvalidDataException>(() => KnowledgeGraph.Read(Src("train.txt", "a\tr\tb\n"), Src("valid.txt", "a\tq\tb\n"), includeUnseenEntities: true));
        Assert.Contains("valid.txt:1", ex.Message);
    }

    [Fact]
    public void InversesDoubleTheTriples()
    {
        var inv = KnowledgeGraph.WithInverses([new Triple(0, 1, 2), new Triple(3, 0, 4)], 2);
        Assert.Equal([new Triple(0, 1, 2), new Triple(3, 0, 4), new Triple(2, 3, 0), new Triple(4, 2, 3)], inv);
    }

    [Fact]
    public void FilterIndexListsKnownAnswersOfEverySet()
    {
        var filter = FilterIndex.Build(5, [new Triple(0, 0, 1), new Triple(0, 0, 2)], [new Triple(0, 0, 1), new Triple(3, 0, 2)], []);
        Assert.Equal(3, filter.Count);
        Assert.Equal([1, 2], filter.Answers(0, 0, QuerySide.Tail).ToArray());
        Assert.Equal([0, 3], filter.Answers(2, 0, QuerySide.Head).ToArray());
        Assert.True(filter.Answers(4, 0, QuerySide.Tail).IsEmpty);
        Assert.True(filter.Contains(new Triple(3, 0, 2)));
        Assert.False(filter.Contains(new Triple(2, 0, 3)));
        Assert.Throws<ArgumentException>(() => FilterIndex.Build(2, [new Triple(0, 0, 5)]));
    }

    [Fact]
    public void VocabularyRejectsRepeatsAndTabs()
    {
        Assert.Throws<ArgumentException>(() => new GraphVocabulary(["a", "a"]));
        Assert.Throws<ArgumentException>(() => new GraphVocabulary(["a\tb"]));
        Assert.Equal(1, new GraphVocabulary(["x", "y"]).GetId("y"));
    }

    [Fact]
    public void ReadsTheSharedDataSets()
    {
        string root = Path.Combine(Shared.Data, "kg", "nations");
        using var train = File.OpenText(Path.Combine(root, "train.txt"));
        using var valid = File.OpenText(Path.Combine(root, "valid.txt"));
        using var test = File.OpenText(Path.Combine(root, "test.txt"));
        var kg = KnowledgeGraph.Read(new("train.txt", train), new("valid.txt", valid), new("test.txt", test));
        Assert.Equal(14, kg.Entities.Count);
        Assert.Equal(1592, kg.Train.Length);
        Assert.Equal(201, kg.Test.Length);
    }
}
