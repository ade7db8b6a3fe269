package sandbox

import "github.com/vppkit/terraform-provider-vpp/internal/applesim"

// Catalog is the set of sample books every new sandbox location holds: classics with real titles
// and authors, several languages and genres, and license counts from plenty to nearly exhausted,
// so that data sources, shortages and oversubscription all have something to show.
func Catalog() []applesim.BookSpec {
	return []applesim.BookSpec{
		{AdamID: "1590000001", Title: "Pride and Prejudice", Author: "Jane Austen", Genres: []string{"Fiction & Literature", "Romance"}, Language: "en", Licenses: 50},
		{AdamID: "1590000002", Title: "Moby-Dick", Author: "Herman Melville", Genres: []string{"Fiction & Literature"}, Language: "en", Licenses: 25},
		{AdamID: "1590000003", Title: "Frankenstein", Author: "Mary Shelley", Genres: []string{"Sci-Fi & Fantasy"}, Language: "en", Licenses: 40},
		{AdamID: "1590000004", Title: "The Adventures of Sherlock Holmes", Author: "Arthur Conan Doyle", Genres: []string{"Mysteries & Thrillers"}, Language: "en", Licenses: 30},
		{AdamID: "1590000005", Title: "Dracula", Author: "Bram Stoker", Genres: []string{"Fiction & Literature", "Mysteries & Thrillers"}, Language: "en", Licenses: 3},
		{AdamID: "1590000006", Title: "Alice's Adventures in Wonderland", Author: "Lewis Carroll", Genres: []string{"Kids"}, Language: "en", Licenses: 120},
		{AdamID: "1590000007", Title: "The Art of War", Author: "Sun Tzu", Genres: []string{"History"}, Language: "en", Licenses: 15},
		{AdamID: "1590000008", Title: "On the Origin of Species", Author: "Charles Darwin", Genres: []string{"Science & Nature"}, Language: "en", Licenses: 10},
		{AdamID: "1590000009", Title: "Meditations", Author: "Marcus Aurelius", Genres: []string{"Religion & Spirituality"}, Language: "en", Licenses: 8},
		{AdamID: "1590000010", Title: "The Wealth of Nations", Author: "Adam Smith", Genres: []string{"Business & Personal Finance"}, Language: "en", Licenses: 12},
		{AdamID: "1590000011", Title: "Don Quijote de la Mancha", Author: "Miguel de Cervantes", Genres: []string{"Fiction & Literature"}, Language: "es", Licenses: 20},
		{AdamID: "1590000012", Title: "Les Misérables", Author: "Victor Hugo", Genres: []string{"Fiction & Literature"}, Language: "fr", Licenses: 18},
		{AdamID: "1590000013", Title: "Die Verwandlung", Author: "Franz Kafka", Genres: []string{"Fiction & Literature"}, Language: "de", Licenses: 2},
		{AdamID: "1590000014", Title: "Anna Karenina", Author: "Leo Tolstoy", Genres: []string{"Fiction & Literature"}, Language: "en", Licenses: 22},
		{AdamID: "1590000015", Title: "The Time Machine", Author: "H. G. Wells", Genres: []string{"Sci-Fi & Fantasy"}, Language: "en", Licenses: 35},
		{AdamID: "1590000016", Title: "A Study in Scarlet", Author: "Arthur Conan Doyle", Genres: []string{"Mysteries & Thrillers"}, Language: "en", Licenses: 1},
		{AdamID: "1590000017", Title: "The Elements of Style", Author: "William Strunk Jr.", Genres: []string{"Reference"}, Language: "en", Licenses: 200},
		{AdamID: "1590000018", Title: "Relativity: The Special and General Theory", Author: "Albert Einstein", Genres: []string{"Science & Nature"}, Language: "en", Licenses: 14},
		{AdamID: "1590000019", Title: "The Prince", Author: "Niccolò Machiavelli", Genres: []string{"Politics & Current Events"}, Language: "it", Licenses: 9},
		{AdamID: "1590000020", Title: "Walden", Author: "Henry David Thoreau", Genres: []string{"Nonfiction"}, Language: "en", Licenses: 16},
		{AdamID: "1590000021", Title: "Kinder- und Hausmärchen", Author: "Jacob and Wilhelm Grimm", Genres: []string{"Kids"}, Language: "de", Licenses: 60},
		{AdamID: "1590000022", Title: "The Odyssey", Author: "Homer", Genres: []string{"Fiction & Literature"}, Language: "en", Licenses: 5},
		{AdamID: "1590000023", Title: "Siddhartha", Author: "Hermann Hesse", Genres: []string{"Fiction & Literature", "Religion & Spirituality"}, Language: "de", Licenses: 4},
		{AdamID: "1590000024", Title: "The Federalist Papers", Author: "Alexander Hamilton, James Madison and John Jay", Genres: []string{"History", "Politics & Current Events"}, Language: "en", Licenses: 7},
	}
}

// Apps is the set of sample apps every new sandbox location holds: Apple's free productivity,
// music and coding apps for iPhone and iPad, paid Mac apps with few licenses left, and the
// library's own user-only apps (not device-assignable), so that bundle ids, device families,
// versions, prices and both kinds of assignment have something to show.
func Apps() []applesim.AppSpec {
	return []applesim.AppSpec{
		{AdamID: "1600000001", Name: "Pages", Developer: "Apple", Genres: []string{"Productivity"}, Licenses: 100,
			BundleID: "com.apple.Pages", DeviceFamilies: []string{"iphone", "ipad"}, Version: "14.4"},
		{AdamID: "1600000002", Name: "Keynote", Developer: "Apple", Genres: []string{"Productivity"}, Licenses: 60,
			BundleID: "com.apple.Keynote", DeviceFamilies: []string{"iphone", "ipad"}, Version: "14.4"},
		{AdamID: "1600000003", Name: "GarageBand", Developer: "Apple", Genres: []string{"Music"}, Licenses: 40,
			BundleID: "com.apple.mobilegarageband", DeviceFamilies: []string{"iphone", "ipad"}, Version: "2.3.15"},
		{AdamID: "1600000004", Name: "Swift Playgrounds", Developer: "Apple", Genres: []string{"Education", "Developer Tools"}, Licenses: 30,
			BundleID: "com.apple.Playgrounds", DeviceFamilies: []string{"ipad", "mac"}, Version: "4.6.4"},
		{AdamID: "1600000005", Name: "Final Cut Pro", Developer: "Apple", Genres: []string{"Video"}, Licenses: 5,
			BundleID: "com.apple.FinalCut", DeviceFamilies: []string{"mac"}, Version: "11.1", Price: 299.99},
		{AdamID: "1600000006", Name: "Logic Pro", Developer: "Apple", Genres: []string{"Music"}, Licenses: 2,
			BundleID: "com.apple.logic10", DeviceFamilies: []string{"mac"}, Version: "11.2", Price: 199.99},
		{AdamID: "1600000007", Name: "Springfield Library Card", Developer: "Springfield Public Library", Genres: []string{"Books", "Reference"}, Licenses: 25,
			BundleID: "org.springfieldlibrary.card", DeviceFamilies: []string{"iphone"}, Version: "3.2", NotDeviceAssignable: true},
		{AdamID: "1600000008", Name: "Reading Log", Developer: "Springfield Public Library", Genres: []string{"Education"}, Licenses: 12,
			BundleID: "org.springfieldlibrary.readinglog", DeviceFamilies: []string{"iphone", "ipad"}, Version: "1.4.2", Price: 1.99, NotDeviceAssignable: true},
	}
}

// seedCatalog gives a new location the sample books and apps.
func seedCatalog(sim *applesim.Server, uid string) error {
	for _, b := range Catalog() {
		if err := sim.AddBook(uid, b); err != nil {
			return err
		}
	}
	for _, a := range Apps() {
		if err := sim.AddApp(uid, a); err != nil {
			return err
		}
	}
	return nil
}

// topUpCatalog adds to a location the catalog's books and apps it lacks: a sandbox saved before an
// entry joined the catalog (apps came after books) gets it, as if the organisation had bought it
// since. What the location holds stays as it is.
func topUpCatalog(sim *applesim.Server, uid string) error {
	for _, b := range Catalog() {
		if _, ok := sim.Asset(uid, b.AdamID, b.PricingParam); !ok {
			if err := sim.AddBook(uid, b); err != nil {
				return err
			}
		}
	}
	for _, a := range Apps() {
		if _, ok := sim.Asset(uid, a.AdamID, a.PricingParam); !ok {
			if err := sim.AddApp(uid, a); err != nil {
				return err
			}
		}
	}
	return nil
}
