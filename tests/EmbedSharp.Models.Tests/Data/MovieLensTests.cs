using EmbedSharp.Models.Data;

namespace EmbedSharp.Models.Tests.Data;

public sealed class MovieLensTests
{
    [Fact]
    public void ReadRatings_ParsesTabSeparatedLines()
    {
        var d = MovieLens.ReadRatings(new StringReader("196\t242\t3\t881250949\n\n186\t302\t4.5\t891717742\n"), "u.data");
        Assert.Equal(2, d.Count);
        Assert.Equal([196, 186], d.Users);
        Assert.Equal([3f, 4.5f], d.Ratings);
        Assert.Equal(891717742, d.Timestamps[1]);
    }

    [Theory]
    [InlineData("1\t2\t3\t4\n5\t6\t9\t7\n", "[movielens.ratings] u.data line 2 column 3: rating 9 is outside 1..5")]
    [InlineData("1\t2\tx\t4\n", "[movielens.ratings] u.data line 1 column 3: rating 'x' is not a number")]
    [InlineData("1\tfoo\t3\t4\n", "[movielens.ratings] u.data line 1 column 2: item id 'foo' is not a non-negative integer")]
    [InlineData("1\t2\n", "[movielens.ratings] u.data line 1 column 3: expected user<TAB>item<TAB>rating<TAB>timestamp but found 2 field(s)")]
    [InlineData("1\t2\t3\tt\n", "[movielens.ratings] u.data line 1 column 4: timestamp 't' is not an integer")]
    public void ReadRatings_NamesFileLineAndColumnOfABadField(string text, string message)
    {
        var ex = Assert.Throws<DataFormatException>(() => MovieLens.ReadRatings(new StringReader(text), "u.data"));
        Assert.Equal(message, ex.Message);
    }

    [Fact]
    public void ReadRatings_PairsWithoutRating()
    {
        var d = MovieLens.ReadRatings(new StringReader("1\t2\n3\t4\t99\n"), "pairs", requireRating: false);
        Assert.Equal([2, 4], d.Items);
    }

    [Fact]
    public void Splits_AreSeededAndLeaveLastOutTakesTheLatest()
    {
        var d = new RatingData([1, 1, 1, 2, 2, 3], [10, 11, 12, 10, 13, 14], [5, 4, 3, 2, 1, 5], [5, 9, 7, 1, 2, 3]);
        var (train, test) = d.LeaveLastOut();
        Assert.Equal([11, 13], test.Items);
        Assert.Equal(4, train.Count);
        var (a, b) = d.KFold(3, 0, 7);
        var (a2, b2) = d.KFold(3, 0, 7);
        Assert.Equal(b.Items, b2.Items);
        Assert.Equal(6, a.Count + b.Count);
        var all = Enumerable.Range(0, 3).SelectMany(f => d.KFold(3, f, 7).Test.Items).Order();
        Assert.Equal(d.Items.Order(), all);
        Assert.Equal(3, d.Positives(4).Count);
    }

    [Fact]
    public void RealMovieLens_LoadsWhenPresent()
    {
        string dir = Path.Combine(RepositoryRoot.Path, "..", "shared", "data", "recsys", "ml-100k");
        string path = Path.Combine(dir, "u.data");
        if (!File.Exists(path))
        {
            Console.WriteLine($"skipped: MovieLens-100K not found at {path} (its licence forbids shipping it; put it at ../shared/data/recsys/ml-100k)");
            return;
        }
        using var reader = File.OpenText(path);
        var d = MovieLens.ReadRatings(reader, "u.data");
        Assert.Equal(100_000, d.Count);
        Assert.Equal(943, d.Users.Distinct().Count());
        using var users = File.OpenText(Path.Combine(dir, "u.user"));
        Assert.Equal(943, MovieLens.ReadUsers(users, "u.user").Count);
    }
}
